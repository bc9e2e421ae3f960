// GroundTruth: what an institution really holds and does, as seen by the sandbox.
//
// The conformance kit seeds a GroundTruth (the simulator's institution::Institution) with known
// accounts and measures and checks an adapter end to end against it: the adapter's bytes go
// through the factory's sandbox endpoint, which decodes them, asks the ground truth, and encodes
// the answer in the institution's protocol.
#ifndef CHAKONG_CONNECTORS_GROUND_TRUTH_H_
#define CHAKONG_CONNECTORS_GROUND_TRUTH_H_

#include "chakong/connectors/connector.h"

namespace chakong::connectors {

class GroundTruth {
 public:
  virtual ~GroundTruth() = default;
  // Answers one request as of civil date `today`, acting on it (idempotent per key).
  virtual Response handle(const Request& request, Date today) = 0;
};

}  // namespace chakong::connectors

#endif  // CHAKONG_CONNECTORS_GROUND_TRUTH_H_
