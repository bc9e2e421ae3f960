// Conversions between the engine's plain request / response structs and the chakong.v1 wire
// messages. from_proto() validates what it reads (dates, status codes, amounts) and names the
// offending field; to_proto() cannot fail.
#ifndef CHAKONG_CONNECTORS_PROTO_CONVERT_H_
#define CHAKONG_CONNECTORS_PROTO_CONVERT_H_

#include "chakong/connectors/connector.h"
#include "chakong/v1/request.pb.h"

namespace chakong::connectors {

void to_proto(const Asset& in, v1::Asset* out);
void to_proto(const Request& in, v1::Request* out);
void to_proto(const Response& in, v1::Response* out);
[[nodiscard]] StatusOr<Asset> from_proto(const v1::Asset& in);
[[nodiscard]] StatusOr<Request> from_proto(const v1::Request& in);
[[nodiscard]] StatusOr<Response> from_proto(const v1::Response& in);

}  // namespace chakong::connectors

#endif  // CHAKONG_CONNECTORS_PROTO_CONVERT_H_
