#!/usr/bin/env python3
"""A Python case server's use of `chakong serve`: file a case, then print its events from a
cursor until the freeze is in force (docs/service.md, "A client").

Stubs: generated from the repository's protos with what Debian ships (protobuf-compiler,
protobuf-compiler-grpc), e.g.
  mkdir -p stubs && protoc -I proto --python_out=stubs --grpc_out=stubs \\
      --plugin=protoc-gen-grpc=$(command -v grpc_python_plugin) \\
      chakong/v1/asset.proto chakong/v1/case.proto chakong/v1/service.proto
(the build makes them in build/release/tests/service_py). Run with Debian's python3-grpcio:
  PYTHONPATH=stubs /usr/bin/python3 client.py --address unix:/run/chakong/grpc.sock \\
      --principal case-server-1 --case '（2026）渝0110执1001号'
Over mutual TLS pass --ca, --cert and --key instead of relying on a plaintext loopback listener.
"""
import argparse

import grpc
from chakong.v1 import case_pb2, service_pb2, service_pb2_grpc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--address", required=True)
    ap.add_argument("--principal", help="plaintext loopback only: the chakong-principal header")
    ap.add_argument("--ca"), ap.add_argument("--cert"), ap.add_argument("--key")
    ap.add_argument("--case", required=True)
    ap.add_argument("--after", type=int, default=0, help="the last cursor handled")
    a = ap.parse_args()
    if a.ca:
        read = lambda p: open(p, "rb").read()
        creds = grpc.ssl_channel_credentials(read(a.ca), read(a.key), read(a.cert))
        channel = grpc.secure_channel(a.address, creds)
        metadata = []
    else:
        channel = grpc.insecure_channel(a.address)
        metadata = [("chakong-principal", a.principal)]
    stub = service_pb2_grpc.CaseServiceStub(channel)

    filing = case_pb2.Case(case_number=a.case, court="渝0110", claim_fen=200_000,
                           costs_fen=1_000, officer_ids=["cq-0110-017"])
    filing.debtors.add(kind=case_pb2.Debtor.KIND_PERSON, id_number="11010519491231002X",
                       name="被执行人")
    # OK: durable. Retry freely with the same content (a replay is OK, replayed=True).
    resp = stub.FileCase(service_pb2.FileCaseRequest(filing=filing), metadata=metadata,
                         timeout=20)
    print("filed", resp.case_number, "(replayed)" if resp.replayed else "")

    cursor = a.after
    stream = stub.WatchEvents(service_pb2.WatchEventsRequest(after_cursor=cursor,
                                                             case_number=a.case),
                              metadata=metadata)
    for e in stream:
        cursor = e.cursor  # Keep it in your own database; reconnect with after_cursor=cursor.
        print(e.cursor, service_pb2.EventKind.Name(e.kind), e.connector, e.amount_fen)
        if e.kind == service_pb2.EVENT_KIND_MEASURE_EFFECTIVE:
            stream.cancel()
            break
    print("last cursor", cursor)


if __name__ == "__main__":
    main()
