// The library's and the sweep's journal records as Protobuf (proto/chakong/v1/journal.proto).
#include "sweep_records.h"

#include <algorithm>

#include "chakong/v1/journal.pb.h"

namespace chakong::engine::sweep_records {

namespace {

// Whether a value is text (printable ASCII, tabs, UTF-8): the records of an older version.
bool is_text(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [](char ch) {
    const auto b = static_cast<unsigned char>(ch);
    return b == '\t' || b >= 0x20;
  });
}

template <typename Message>
Status parse(std::string_view v, const char* what, Message& m) {
  if (m.ParseFromArray(v.data(), static_cast<int>(v.size())) && m.format() == kFormat) {
    return ok_status();
  }
  if (is_text(v)) {
    return data_loss_error("is a text " + std::string(what) +
                           " record of an older version (tab- or space-separated), which this "
                           "version does not read: rebuild the library by importing it into a "
                           "new journal");
  }
  if (m.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
    return data_loss_error("is not a " + std::string(what) + " record: format " +
                           std::to_string(m.format()) + ", not " + std::to_string(kFormat));
  }
  return data_loss_error("is not a " + std::string(what) + " record: " + std::to_string(v.size()) +
                         " bytes that do not parse");
}

}  // namespace

std::string encode_case(const LibraryEntry& e) {
  v1::JournalLibraryCase r;
  r.set_format(kFormat);
  r.set_case_number(e.case_number);
  r.set_officer_id(e.officer_id);
  r.set_remaining(e.remaining.value());
  r.set_terminated_days(e.terminated.days());
  r.set_consumption_restricted(e.consumption_restricted);
  r.set_measures_in_force(e.measures_in_force);
  for (const LibraryDebtor& d : e.debtors) {
    v1::JournalLibraryDebtor* out = r.add_debtors();
    out->set_organisation(d.organisation);
    out->set_id(d.id);
  }
  return r.SerializeAsString();
}

StatusOr<LibraryEntry> decode_case(std::string_view v) {
  v1::JournalLibraryCase r;
  CHAKONG_RETURN_IF_ERROR(parse(v, "library case", r));
  LibraryEntry e;
  e.case_number = r.case_number();
  e.officer_id = r.officer_id();
  e.remaining = Fen(r.remaining());
  e.terminated = Date::from_days(r.terminated_days());
  e.consumption_restricted = r.consumption_restricted();
  e.measures_in_force = r.measures_in_force();
  for (const v1::JournalLibraryDebtor& d : r.debtors()) {
    e.debtors.push_back({d.organisation(), d.id()});
  }
  return e;
}

std::string encode_restored(const std::string& restored_as) {
  v1::JournalLibraryRestored r;
  r.set_format(kFormat);
  r.set_restored_as(restored_as);
  return r.SerializeAsString();
}

StatusOr<std::string> decode_restored(std::string_view v) {
  v1::JournalLibraryRestored r;
  CHAKONG_RETURN_IF_ERROR(parse(v, "library restoration", r));
  if (r.restored_as().empty()) return data_loss_error("restored_as is empty");
  return r.restored_as();
}

std::string encode_counter(int64_t restored) {
  v1::JournalRestoreCounter r;
  r.set_format(kFormat);
  r.set_restored(restored);
  return r.SerializeAsString();
}

StatusOr<int64_t> decode_counter(std::string_view v) {
  v1::JournalRestoreCounter r;
  CHAKONG_RETURN_IF_ERROR(parse(v, "restoration counter", r));
  if (r.restored() < 0) {
    return data_loss_error("restored " + std::to_string(r.restored()) + " is negative");
  }
  return r.restored();
}

std::string encode_run(const Header& h) {
  v1::JournalSweepRun r;
  r.set_format(kFormat);
  r.set_anniversary(h.anniversary);
  r.set_started_at_us(h.started);
  r.set_finished_at_us(h.finished);
  r.set_window_end_us(h.window_end);
  r.set_total(h.total);
  r.set_skipped(h.skipped);
  r.set_swept(h.swept);
  r.set_hits(h.hits);
  r.set_restored(h.restored);
  r.set_debtors_queried(h.queried);
  r.set_max_lateness_us(h.lateness);
  return r.SerializeAsString();
}

StatusOr<Header> decode_run(std::string_view v) {
  v1::JournalSweepRun r;
  CHAKONG_RETURN_IF_ERROR(parse(v, "sweep run", r));
  if (r.skipped() > r.total()) {
    return data_loss_error("skipped " + std::to_string(r.skipped()) + " exceeds total " +
                           std::to_string(r.total()));
  }
  Header h;
  h.anniversary = r.anniversary();
  h.started = r.started_at_us();
  h.finished = r.finished_at_us();
  h.window_end = r.window_end_us();
  h.total = r.total();
  h.skipped = r.skipped();
  h.swept = r.swept();
  h.hits = r.hits();
  h.restored = r.restored();
  h.queried = r.debtors_queried();
  h.lateness = r.max_lateness_us();
  return h;
}

std::string encode_done(const uint64_t* words) {
  v1::JournalSweepDone r;
  r.set_format(kFormat);
  r.mutable_words()->Add(words, words + kChunkWords);
  return r.SerializeAsString();
}

Status decode_done(std::string_view v, uint64_t* words) {
  v1::JournalSweepDone r;
  CHAKONG_RETURN_IF_ERROR(parse(v, "sweep progress", r));
  if (r.words_size() != static_cast<int>(kChunkWords)) {
    return data_loss_error("has " + std::to_string(r.words_size()) + " words, not " +
                           std::to_string(kChunkWords));
  }
  std::copy(r.words().begin(), r.words().end(), words);
  return ok_status();
}

}  // namespace chakong::engine::sweep_records
