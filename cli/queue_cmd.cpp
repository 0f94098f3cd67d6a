// `nougat queue list|show|release|delete`: the administrator's view of
// <data>/spool/queue, like exim -bp / -Mvh / -Mvb / -Mt / -Mrm.
//
// Reading never disturbs a running server: files are only loaded (Spool::
// ids and load; a file still being received has no end record and is
// skipped). The two writes are safe with the server running or stopped:
//  - release creates the message's marker (engine/spool.hpp); the server
//    picks it up within Delivery::kReleaseScan, or at its next start.
//  - delete removes a held message, which the server never touches; any
//    other message only with --force, since the server may be delivering it.
// Both are written to the main log as well as printed.
// Exit status: 0 ok, 1 failure (unknown id, not held, …), 2 usage error
// (including an id that is not in the spool's id alphabet).
#include <fmt/ranges.h>

#include <ctime>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "engine/log.hpp"
#include "engine/queue_report.hpp"
#include "engine/spool.hpp"

namespace nougat::cli {
namespace {
namespace fs = std::filesystem;
namespace eng = nougat::engine;

constexpr std::string_view kQueueUsage =
    "usage: nougat queue list [--count]\n"
    "       nougat queue show ID [--headers|--body]\n"
    "       nougat queue release ID\n"
    "       nougat queue delete ID [--force]\n"
    "  every command also takes --data DIR, --config FILE and --set KEY=VALUE.\n";

int usage(std::string_view msg) {
  std::cerr << "nougat queue: " << msg << "\n" << kQueueUsage;
  return 2;
}

int fail(std::string_view msg) {
  std::cerr << "nougat queue: " << msg << "\n";
  return 1;
}

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

// The message, or the reason it cannot be acted on.
Result<eng::SpooledMessage> find(eng::Spool& spool, const std::string& id, bool with_data) {
  if (!spool.exists(id))
    return make_error("no message " + id + " in " + (spool.dir() / "queue").string());
  auto m = spool.load(id, with_data);
  if (!m)
    return make_error(id +
                      " is not a complete message (still being received?): " + m.error().detail);
  return m;
}

std::string summary(const eng::SpooledMessage& m) {
  return fmt::format("from <{}> for {}, {} bytes", m.envelope.sender,
                     fmt::join(m.envelope.recipients, ", "), m.data_size);
}

int queue_list(eng::Spool& spool, bool count_only) {
  size_t messages = 0, held = 0, released = 0;
  const int64_t t = now();
  for (const auto& id : spool.ids()) {
    auto m = spool.load(id, false);
    if (!m) continue;  // incomplete: being received, or left by a crash (recovery removes it)
    bool rel = m->envelope.quarantined && spool.is_released(id);
    ++messages;
    if (m->envelope.quarantined) ++(rel ? released : held);
    if (!count_only) std::cout << eng::format_queue_entry(*m, rel, t);
  }
  if (count_only) std::cout << eng::format_queue_count(messages, held, released);
  return 0;
}

int queue_show(eng::Spool& spool, const std::string& id, const Args& args) {
  auto m = find(spool, id, true);
  if (!m) return fail(m.error().text);
  const std::string_view data = *m->data;
  if (args.has("body")) {
    std::cout << eng::body_part(data);
    return 0;
  }
  std::cout << eng::format_envelope(*m, spool.is_released(id), now()) << "\n";
  std::cout << (args.has("headers") ? eng::header_part(data) : eng::with_lf(data));
  return 0;
}

int queue_release(eng::Spool& spool, const std::string& id) {
  auto m = find(spool, id, false);
  if (!m) return fail(m.error().text);
  if (!m->envelope.quarantined)
    return fail(id + " is not held: it is queued for delivery already (nothing to release)");
  if (spool.is_released(id)) {
    std::cout
        << id
        << " is already released; the server delivers it (at its next start if it is stopped)\n";
    return 0;
  }
  if (auto st = spool.mark_released(id); !st)
    return fail(st.error().text + ": " + st.error().detail);
  eng::log::line(id, "release requested by the administrator (nougat queue release)");
  std::cout << "released " << id << " " << summary(*m)
            << "\nthe server delivers it within a few seconds, or at its next start\n";
  return 0;
}

int queue_delete(eng::Spool& spool, const std::string& id, bool force) {
  auto m = find(spool, id, false);
  if (!m) return fail(m.error().text);
  const bool released = spool.is_released(id);
  if ((!m->envelope.quarantined || released) && !force)
    return fail(id + (released ? " was released" : " is not held") +
                ": the server may be delivering it right now, and deleting it then could lose or "
                "duplicate copies; use --force to delete it anyway");
  std::string held = m->envelope.quarantined ? (m->envelope.held_reason.empty()
                                                    ? " (held)"
                                                    : " (held: " + m->envelope.held_reason + ")")
                                             : " (not held)";
  if (auto st = spool.remove(id); !st) return fail(st.error().text + ": " + st.error().detail);
  eng::log::line(id, "removed by the administrator (nougat queue delete{}): {}{}",
                 force ? " --force" : "", summary(*m), held);
  std::cout << "removed " << id << " " << summary(*m) << held << "\n";
  return 0;
}

}  // namespace

int cmd_queue(int argc, char** argv, int first) {
  auto args = parse_args(argc, argv, first, {}, {"count", "headers", "body", "force", "help"});
  if (!args) return usage(args.error().text);
  if (args->has("help")) {
    std::cout << kQueueUsage;
    return 0;
  }
  const auto& pos = args->positional;
  if (pos.empty()) return usage("missing subcommand");
  const std::string& sub = pos[0];
  const bool takes_id = sub == "show" || sub == "release" || sub == "delete";
  if (!takes_id && sub != "list") return usage("unknown subcommand '" + sub + "'");
  if (takes_id && pos.size() != 2) return usage(sub + " needs exactly one ID");
  if (!takes_id && pos.size() != 1) return usage("list takes no arguments");
  if (takes_id && !eng::valid_queue_id(pos[1]))
    return usage("'" + pos[1] + "' is not a queue id (like 1xXD4z-00DhV1Wa)");
  if (args->has("count") && sub != "list") return usage("--count is for list");
  if ((args->has("headers") || args->has("body")) && sub != "show")
    return usage("--headers and --body are for show");
  if (args->has("headers") && args->has("body")) return usage("--headers or --body, not both");
  if (args->has("force") && sub != "delete") return usage("--force is for delete");

  auto cfg = load_config_or_report(*args);
  if (!cfg) return 1;
  eng::Spool spool(cfg->server.data_dir / "spool");
  if (sub == "list") return queue_list(spool, args->has("count"));
  if (sub == "show") return queue_show(spool, pos[1], *args);
  // The changes go to the main log too, as the server's own lines do.
  eng::log::set_stderr(false);
  if (!eng::log::open(cfg->server.log_file))
    std::cerr << "nougat queue: warning: cannot open the log file " << cfg->server.log_file << "\n";
  if (sub == "release") return queue_release(spool, pos[1]);
  return queue_delete(spool, pos[1], args->has("force"));
}

}  // namespace nougat::cli
