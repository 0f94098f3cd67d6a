// Maildir delivery of one message copy, per the Maildir specification:
// write the whole file under tmp/, make it durable, rename it into new/.
// The file gets Return-Path and Delivered-To on top and local (LF) line
// ends. Names are "<time>.<queue id>_<recipient index>.<host>,S=<size>": unique
// per host, and the same on every attempt for one recipient, so a redelivery
// after a crash can see that an earlier attempt already reached new/ or cur/.
// Syncing is the caller's job (a SyncGroup shared by a batch).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "engine/result.hpp"
#include "engine/spool.hpp"

namespace nougat::engine {

struct MaildirCopy {
  std::filesystem::path maildir;
  std::string name;
  uint64_t size = 0, checksum = 0;  // of the file written (write_maildir_tmp)
  std::filesystem::path tmp() const { return maildir / "tmp" / name; }
  std::filesystem::path dest() const { return maildir / "new" / name; }
};

// Creates tmp/, new/, cur/ as needed and writes the copy for recipient
// `rcpt` of `m` (whose data must be loaded) under tmp/.
// `target` tells apart several copies for one recipient (a filter that
// saves to two folders); 0 gives the plain name.
Result<MaildirCopy> write_maildir_tmp(const std::filesystem::path& maildir, const SpooledMessage& m,
                                      size_t rcpt, std::string_view hostname, size_t target = 0);
Status publish(const MaildirCopy& c);  // rename tmp/ → new/
void discard(const MaildirCopy& c);    // remove the tmp/ or new/ file
// True when a copy with this name is already in new/ or (with flags) in cur/.
bool already_delivered(const MaildirCopy& c);
// The Maildir++ folder inside a Maildir: "" → the Maildir itself (INBOX),
// "Junk" → <maildir>/.Junk, "Lists/foo" → <maildir>/.Lists.foo.
std::filesystem::path maildir_folder(const std::filesystem::path& maildir, std::string_view folder);

// For the delivery log: " F=Lists.foo" when `dir` is a Maildir++ folder
// (its last component starts with '.', a trailing '/' allowed: a filter's
// `save Maildir/.Carol/`), else "".
std::string maildir_folder_log(const std::filesystem::path& dir);
// Folder names a check or filter may choose: no "..", no leading '.' or '/',
// no control characters or backslashes.
bool valid_folder_name(std::string_view folder);
// The name write_maildir_tmp would use, without writing anything.
MaildirCopy maildir_copy_name(const std::filesystem::path& maildir, const SpooledMessage& m,
                              size_t rcpt, std::string_view hostname, size_t target = 0);

// Checksum recorded for a copy (PublishLog verifies tmp files with it).
uint64_t content_checksum(std::string_view data);

// Appends the copy for recipient `rcpt` to an mbox file (mboxrd quoting of
// "From " lines), under an fcntl write lock, and fsyncs it.
// `retry`: an earlier attempt may have appended this copy already (and then
// failed elsewhere); when the file holds it, nothing is appended again.
Status append_mbox(const std::filesystem::path& file, const SpooledMessage& m, size_t rcpt, bool retry = false);

}  // namespace nougat::engine
