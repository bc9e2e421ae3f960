#!/usr/bin/env python3
"""The Python client test of `chakong serve` (ctest: service.python_client).

What a case server written in Python does, over the real processes: a sandbox bank
(`chakong institutions`) on a Unix socket, `chakong serve` on another, a client using stubs
generated from proto/chakong/v1/service.proto. It files a case, watches its events to
completion, reconnects with a cursor (nothing missed, nothing twice), reads the measures as
the assigned officer, scrapes /metrics, and stops the server with SIGTERM (exit 0).

  python_client_test.py --chakong BIN --stubs DIR --dir WORKDIR
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

CASE = "（2026）渝0110执1001号"
COURT = "渝0110"
OFFICER = "cq-0110-017"
CASE_SERVER = "case-server"
DEBTOR = "11010519491231002X"
CLAIM, COSTS, BALANCE = 200_000, 1_000, 500_000


def wait_for(what, check, seconds=20.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chakong", required=True)
    ap.add_argument("--stubs", required=True)
    ap.add_argument("--dir", required=True)
    a = ap.parse_args()
    sys.path.insert(0, a.stubs)
    import grpc  # Debian: python3-grpcio
    from chakong.v1 import case_pb2, service_pb2, service_pb2_grpc

    shutil.rmtree(a.dir, ignore_errors=True)
    os.makedirs(a.dir)
    inst_sock = os.path.join(a.dir, "institutions.sock")
    grpc_sock = os.path.join(a.dir, "grpc.sock")
    config = os.path.join(a.dir, "serve.yaml")
    with open(config, "w", encoding="utf-8") as f:
        f.write(f"""listen: {{address: "unix:{grpc_sock}", plaintext: true}}
journal: journal
shards: 2
officers: [{{id: {OFFICER}, court: {COURT}}}]
clients: [{CASE_SERVER}]
connectors:
  - adapter: bank
    config: {{name: a, timeout_ms: 5000}}
    transport: {{unix: institutions.sock, channel: 0}}
metrics: {{address: "127.0.0.1:0"}}
""")
    # The sandbox bank "bank.a" in its own process: ¥5,000 in an account of each debtor, 2 ms.
    spec = os.path.join(a.dir, "institutions.yaml")
    with open(spec, "w", encoding="utf-8") as f:
        f.write("""institutions:
  - adapter: bank
    name: bank.a
    latency_ms: 2
    assets:
      - {category: deposit, reference: "6222000011112222", holder: "11010519491231002X", fen: 500000}
      - {category: deposit, reference: "6222000033334444", holder: "110105198001010016", fen: 500000}
""")
    bank = subprocess.Popen([a.chakong, "institutions", "--scenario", spec,
                             "--listen", "unix:" + inst_sock], stdout=subprocess.PIPE, text=True)
    serve = None
    log_path = os.path.join(a.dir, "serve.log")
    try:
        line = bank.stdout.readline().strip()
        assert line == f"listening unix:{inst_sock} port 0 channels 1", line
        log = open(log_path, "w", encoding="utf-8")
        serve = subprocess.Popen([a.chakong, "serve", "--config", config], stderr=log)
        # Ready once the "serving" line is logged (it names the metrics port) and /readyz is 200.
        def serving_line():
            with open(log_path, encoding="utf-8") as f:
                return [json.loads(l) for l in f if '"event":"serving"' in l]
        wait_for("the serving line", lambda: serve.poll() is None and serving_line())
        metrics = f"http://127.0.0.1:{serving_line()[0]['metrics_port']}"
        assert urllib.request.urlopen(metrics + "/readyz", timeout=10).read() == b"ready\n"
        channel = grpc.insecure_channel("unix:" + grpc_sock)
        stub = service_pb2_grpc.CaseServiceStub(channel)
        as_case_server = [("chakong-principal", CASE_SERVER)]

        # File a case: OK means durable; a retry with the same content is OK again.
        filing = case_pb2.Case(case_number=CASE, court=COURT, claim_fen=CLAIM, costs_fen=COSTS,
                               officer_ids=[OFFICER])
        filing.debtors.add(kind=case_pb2.Debtor.KIND_PERSON, id_number=DEBTOR, name="被执行人")
        resp = stub.FileCase(service_pb2.FileCaseRequest(filing=filing), metadata=as_case_server,
                             timeout=20)
        assert resp.case_number == CASE and not resp.replayed, resp
        again = stub.FileCase(service_pb2.FileCaseRequest(filing=filing), metadata=as_case_server,
                              timeout=20)
        assert again.replayed, again

        # Watch until the freeze is in force, keeping the cursor of each event handled.
        def watch(after, enough):
            got = []
            stream = stub.WatchEvents(service_pb2.WatchEventsRequest(after_cursor=after),
                                      metadata=as_case_server, timeout=20)
            for e in stream:
                got.append(e)
                if enough(got):
                    stream.cancel()
                    break
            return got

        K = service_pb2.EventKind
        done = lambda got: any(e.kind == K.Value("EVENT_KIND_MEASURE_EFFECTIVE") for e in got)
        events = watch(0, done)
        seen = [(e.cursor, K.Name(e.kind)[len("EVENT_KIND_"):], e.amount_fen) for e in events]
        assert seen == [(1, "CASE_FILED", CLAIM), (2, "QUERIES_STARTED", 0),
                        (3, "FINDING", BALANCE), (4, "CONTROL_MET", CLAIM + COSTS),
                        (5, "MEASURE_EFFECTIVE", CLAIM + COSTS)], seen
        assert all(e.case_number == CASE for e in events)
        assert events[2].connector == "bank.a"
        # A client that handled up to cursor 2 and reconnects gets 3, 4, 5, byte for byte.
        resumed = watch(2, lambda got: len(got) == 3)
        assert [e.SerializeToString() for e in resumed] == \
            [e.SerializeToString() for e in events[2:]], resumed

        # The measures, as the assigned officer.
        state = stub.GetCase(service_pb2.GetCaseRequest(case_number=CASE),
                             metadata=[("chakong-principal", OFFICER)], timeout=20)
        assert state.status == service_pb2.CASE_STATUS_CONTROLLING, state
        assert state.frozen_fen == CLAIM + COSTS, state
        assert len(state.measures) == 1, state
        m = state.measures[0]
        assert (m.connector, m.amount_fen, m.live) == ("bank.a", CLAIM + COSTS, True), m
        assert m.reference_masked == "6222********2222", m
        # Another principal may not read it.
        try:
            stub.GetCase(service_pb2.GetCaseRequest(case_number=CASE),
                         metadata=as_case_server, timeout=20)
            raise AssertionError("a case server read a case")
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.PERMISSION_DENIED, err

        # /metrics: what the calls above did.
        page = urllib.request.urlopen(metrics + "/metrics", timeout=10).read().decode()
        for line in ['chakong_institution_requests_total{connector="bank.a",kind="query",'
                     'outcome="ok"} 1',
                     'chakong_institution_requests_total{connector="bank.a",kind="freeze",'
                     'outcome="ok"} 1',
                     "chakong_control_clocks_met_total 1", "chakong_control_clocks_open 0",
                     "chakong_filings_replayed_total 1", "chakong_event_log_cursor 5",
                     'chakong_rpc_refused_total{reason="permission_denied"} 1']:
            assert line in page.splitlines(), line + "\n" + page
        channel.close()

        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0
        serve = None
        with open(log_path, encoding="utf-8") as f:
            stopped = [json.loads(l) for l in f if '"event":"stopped"' in l]
        assert stopped and stopped[0]["journal"] == "ok", stopped
    finally:
        if serve is not None:
            serve.kill()
            serve.wait()
        bank.send_signal(signal.SIGTERM)
        bank.wait(timeout=10)
    print("python client: filed, watched 5 events, resumed from cursor 2, read 1 measure: ok")


if __name__ == "__main__":
    main()
