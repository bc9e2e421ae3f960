// Golden exchange checks (conformance.h, load_golden()). Private to the kit.
#ifndef CHAKONG_CONFORMANCE_GOLDEN_H_
#define CHAKONG_CONFORMANCE_GOLDEN_H_

#include "chakong/conformance/conformance.h"

namespace chakong::conformance {

// Runs `golden` against a connector built by `factory` (name and timing are the runner's).
// Throws nothing the runner does not catch.
CheckResult golden_check(const connectors::ConnectorFactory& factory, const Options& options,
                         const GoldenFile& golden);

}  // namespace chakong::conformance

#endif  // CHAKONG_CONFORMANCE_GOLDEN_H_
