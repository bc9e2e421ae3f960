#include "chakong/engine/audit.h"

#include <openssl/evp.h>

#include <cinttypes>
#include <cstdio>
#include <map>
#include <string_view>

#include "audit_chain.h"

namespace chakong::engine {
namespace {

std::string seq_key(size_t shard, uint64_t seq) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "audit/%zu/%016" PRIu64, shard, seq);
  return buf;
}

std::string sha256(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), md, &n, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), n);
}

// Why a chain with links but no head is broken (verify_audit and AuditChain::resume).
std::string missing_head(uint64_t links) {
  return "the head is missing while the chain has " + std::to_string(links) +
         " links (it was removed)";
}

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char ch : bytes) {
    out += digits[ch >> 4];
    out += digits[ch & 15];
  }
  return out;
}

}  // namespace

std::string audit_canonical(const v1::AuditRecord& r) {
  std::string out;
  out += "seq=" + std::to_string(r.seq()) + "\n";
  out += "time_us=" + std::to_string(r.time_us()) + "\n";
  out += "who=" + r.who() + "\n";
  out += "case=" + r.case_number() + "\n";
  out += "debtor=" + r.debtor() + "\n";
  out += "purpose=" + r.purpose() + "\n";
  out += "action=" + r.action() + "\n";
  out += "connector=" + r.connector() + "\n";
  out += "request_id=" + r.request_id() + "\n";
  // Seals only on "write" links: the text of every other link is what it always was.
  for (const v1::RecordSeal& seal : r.records()) {
    out += "record=" + seal.key() + " " + hex(seal.sha256()) + "\n";
  }
  return out;
}

std::string audit_hash(const v1::AuditRecord& r) {
  return sha256(r.prev_hash() + audit_canonical(r));
}

std::string record_digest(std::string_view value) { return sha256(value); }

Status AuditChain::resume(const Journal& journal) {
  StatusOr<std::string> head = journal.get(head_key());
  if (!head.ok()) {
    if (head.status().code() != StatusCode::kNotFound) return head.status();
    // No head: a fresh chain only if the shard has no link either. Starting again at 1 over
    // existing links would overwrite the record of requests that were sent.
    uint64_t links = 0;
    CHAKONG_RETURN_IF_ERROR(journal.scan("audit/" + std::to_string(shard_) + "/",
                                         [&](std::string_view, std::string_view) { ++links; }));
    if (links > 0) return data_loss_error(head_key() + ": " + missing_head(links));
    return ok_status();
  }
  v1::AuditRecord r;
  if (!r.ParseFromString(*head)) return data_loss_error(head_key() + ": unreadable audit head");
  const std::string after = seq_key(shard_, r.seq() + 1);
  StatusOr<std::string> next = journal.get(after);
  if (next.ok()) {
    return data_loss_error(head_key() + ": the head is link " + std::to_string(r.seq()) + " but " +
                           after + " exists (the head was rolled back)");
  }
  if (next.status().code() != StatusCode::kNotFound) return next.status();
  next_seq_ = r.seq() + 1;
  prev_hash_ = r.hash();
  return ok_status();
}

std::string AuditChain::link(v1::AuditRecord& record) {
  record.set_seq(next_seq_);
  record.set_prev_hash(prev_hash_);
  record.clear_hash();
  record.set_hash(audit_hash(record));
  prev_hash_ = record.hash();
  return seq_key(shard_, next_seq_++);
}

std::string AuditChain::head_key() const { return "audit/" + std::to_string(shard_) + "/head"; }

std::string AuditChain::head() const {
  v1::AuditRecord h;
  h.set_seq(next_seq_ - 1);
  h.set_hash(prev_hash_);
  return h.SerializeAsString();
}

StatusOr<AuditVerdict> verify_audit(const Journal& journal) {
  // Chains by shard: links in key order (sequence numbers are fixed-width), then the head.
  struct Chain {
    std::vector<std::pair<std::string, std::string>> links;
    std::string head;
    bool has_head = false;
  };
  std::map<std::string, Chain> chains;
  // The newest seal of a case record's key.
  struct Seal {
    std::string digest, link, chain;
    int64_t time_us = 0;
    bool seen = false;
  };
  std::map<std::string, Seal, std::less<>> seals;
  CHAKONG_RETURN_IF_ERROR(journal.scan("audit/", [&](std::string_view key, std::string_view value) {
    const std::string_view rest = key.substr(6);
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return;
    Chain& c = chains[std::string(rest.substr(0, slash))];
    if (rest.substr(slash + 1) == "head") {
      c.head = std::string(value);
      c.has_head = true;
    } else {
      c.links.emplace_back(std::string(key), std::string(value));
    }
  }));
  AuditVerdict v;
  auto broken = [&](const std::string& key, std::string reason) {
    v.intact = false;
    v.broken_key = key;
    v.reason = std::move(reason);
  };
  for (auto& [shard, chain] : chains) {
    ++v.chains;
    std::string prev;
    uint64_t expected = 1;
    for (const auto& [key, value] : chain.links) {
      v1::AuditRecord r;
      if (!r.ParseFromString(value)) {
        broken(key, "unreadable record");
        return v;
      }
      if (r.seq() != expected) {
        broken(key, "sequence " + std::to_string(r.seq()) + " where " + std::to_string(expected) +
                        " was expected (a link was removed or the record's number altered)");
        return v;
      }
      if (r.prev_hash() != prev) {
        broken(key, "previous hash " + hex(r.prev_hash()).substr(0, 16) +
                        "... does not match the link before it (" + hex(prev).substr(0, 16) +
                        "...)");
        return v;
      }
      if (audit_hash(r) != r.hash()) {
        broken(key, "hash does not match the record's contents (the record was altered)");
        return v;
      }
      // A key written by two chains (the shard count changed between lives): the later seal.
      for (const v1::RecordSeal& s : r.records()) {
        auto [it, inserted] = seals.try_emplace(s.key());
        Seal& seal = it->second;
        if (!inserted && seal.chain != shard && seal.time_us > r.time_us()) continue;
        seal = {s.sha256(), key, shard, r.time_us(), false};
      }
      prev = r.hash();
      ++expected;
      ++v.records;
    }
    if (chain.has_head) {
      v1::AuditRecord h;
      if (!h.ParseFromString(chain.head) || h.seq() != expected - 1 || h.hash() != prev) {
        broken("audit/" + shard + "/head",
               "the head is link " + std::to_string(h.seq()) + " but the chain ends at link " +
                   std::to_string(expected - 1) + " (links were cut off the end)");
        return v;
      }
    } else if (!chain.links.empty()) {
      broken("audit/" + shard + "/head", missing_head(chain.links.size()));
      return v;
    }
  }
  // Every case record is the value the newest seal of its key names.
  CHAKONG_RETURN_IF_ERROR(journal.scan("case/", [&](std::string_view key, std::string_view value) {
    if (!v.intact) return;
    auto it = seals.find(key);
    if (it == seals.end()) {
      broken(std::string(key),
             "no audit link seals this record (it was written outside the engine)");
      return;
    }
    it->second.seen = true;
    if (record_digest(value) != it->second.digest) {
      broken(std::string(key), "the record is not the value its last write sealed (" +
                                   it->second.link + "): it was changed outside the engine");
      return;
    }
    ++v.sealed;
  }));
  if (!v.intact) return v;
  for (const auto& [key, seal] : seals) {
    if (!seal.seen) {
      broken(key, "the record sealed by " + seal.link +
                      " is missing (it was removed outside the engine)");
      return v;
    }
  }
  return v;
}

}  // namespace chakong::engine
