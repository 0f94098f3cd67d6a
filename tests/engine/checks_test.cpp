#include "engine/checks.hpp"

#include <gtest/gtest.h>

#include "engine/memory_directory.hpp"
#include "engine/spam_check.hpp"
#include "scanners/memory_store.hpp"

namespace nougat::engine {
namespace {

class Fixed final : public Check {
 public:
  explicit Fixed(Verdict v) : v_(std::move(v)) {}
  std::string_view name() const override { return "fixed"; }
  Verdict on_eod(const SessionFacts&, const MailFacts&, const MessageFacts&) override { return v_; }

 private:
  Verdict v_;
};

class Throws final : public Check {
 public:
  std::string_view name() const override { return "throws"; }
  Verdict on_eod(const SessionFacts&, const MailFacts&, const MessageFacts&) override {
    throw std::runtime_error("out of something");
  }
};

Verdict tag(std::string header, std::string folder = "") {
  Verdict v;
  v.add_headers = {std::move(header)};
  v.folder = std::move(folder);
  return v;
}

// A check that throws is a temporary failure (it used to end the worker
// thread, and the process with it), and the checks after it do not run.
TEST(CheckChain, ACheckThatThrowsIsATemporaryFailure) {
  CheckChain chain;
  chain.add(std::make_unique<Fixed>(tag("X-A: 1")), true);
  chain.add(std::make_unique<Throws>(), true);
  chain.add(std::make_unique<Fixed>(Verdict::reject(550, "5.7.1", "never reached")), true);
  std::vector<std::string> rcpts{"a@x.test"};
  Verdict v = chain.on_eod({}, {}, MessageFacts{"id", "data", rcpts});
  EXPECT_EQ(v.action, Action::kTempfail);
  EXPECT_EQ(v.code, 451);
}

TEST(CheckChain, EndOfDataMergesTagsUntilATerminalVerdict) {
  CheckChain chain;
  chain.add(std::make_unique<Fixed>(tag("X-A: 1")), true);
  chain.add(std::make_unique<Fixed>(tag("X-B: 2", "Junk")), true);
  EXPECT_TRUE(chain.has_eod());
  std::vector<std::string> rcpts{"a@x.test"};
  MessageFacts msg{"id", "data", rcpts};
  Verdict v = chain.on_eod({}, {}, msg);
  EXPECT_EQ(v.action, Action::kContinue);
  EXPECT_EQ(v.add_headers, (std::vector<std::string>{"X-A: 1", "X-B: 2"}));
  EXPECT_EQ(v.folder, "Junk");

  chain.add(std::make_unique<Fixed>(Verdict::reject(550, "5.7.1", "virus found: Eicar")), true);
  chain.add(std::make_unique<Fixed>(tag("X-C: never")), true);
  v = chain.on_eod({}, {}, msg);
  EXPECT_EQ(v.action, Action::kReject);
  EXPECT_EQ(v.code, 550);
  EXPECT_EQ(v.text, "virus found: Eicar");
}

Verdict quarantine(std::string why, std::string header) {
  Verdict v = tag(std::move(header));
  v.action = Action::kQuarantine;
  v.text = std::move(why);
  return v;
}

// A quarantine holds the message but the checks after it (the system filter)
// still run: their edits go with the held message; a rejection still wins.
TEST(CheckChain, QuarantineHoldsButTheChainGoesOn) {
  CheckChain chain;
  chain.add(std::make_unique<Fixed>(quarantine("virus found: Eicar", "X-Virus: Eicar")), true);
  chain.add(std::make_unique<Fixed>(tag("X-Sysfilter: ran")), true);
  chain.add(std::make_unique<Fixed>(quarantine("frozen by the system filter", "X-Frozen: yes")), true);
  std::vector<std::string> rcpts{"a@x.test"};
  MessageFacts msg{"id", "data", rcpts};
  Verdict v = chain.on_eod({}, {}, msg);
  EXPECT_EQ(v.action, Action::kQuarantine);
  EXPECT_EQ(v.text, "virus found: Eicar");
  EXPECT_EQ(v.add_headers, (std::vector<std::string>{"X-Virus: Eicar", "X-Sysfilter: ran", "X-Frozen: yes"}));
  chain.add(std::make_unique<Fixed>(Verdict::reject(550, "5.7.1", "no")), true);
  EXPECT_EQ(chain.on_eod({}, {}, msg).action, Action::kReject);
}

Verdict vars(std::vector<std::pair<std::string, std::string>> v) {
  Verdict r;
  r.variables = std::move(v);
  return r;
}

TEST(CheckChain, EndOfDataMergesVariablesALaterCheckWins) {
  CheckChain chain;
  chain.add(std::make_unique<Fixed>(vars({{"malware_name", "Eicar"}, {"spam_score", "1.0"}})),
            true);
  chain.add(std::make_unique<Fixed>(tag("X-A: 1")), true);
  chain.add(std::make_unique<Fixed>(vars({{"spam_score", "9.9"}, {"spam_bar", "+++++++++"}})),
            true);
  std::vector<std::string> rcpts{"a@x.test"};
  MessageFacts msg{"id", "data", rcpts};
  Verdict v = chain.on_eod({}, {}, msg);
  EXPECT_EQ(v.action, Action::kContinue);
  using Vars = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(v.variables,
            (Vars{{"malware_name", "Eicar"}, {"spam_score", "9.9"}, {"spam_bar", "+++++++++"}}));
  EXPECT_EQ(v.add_headers, std::vector<std::string>{"X-A: 1"});

  // A terminal verdict carries only its own variables.
  chain.add(std::make_unique<Fixed>(Verdict::reject(550, "5.7.1", "no")), true);
  v = chain.on_eod({}, {}, msg);
  EXPECT_EQ(v.action, Action::kReject);
  EXPECT_TRUE(v.variables.empty());
}

// Exim's semantics on the probability × 10 (engine/spam_check.hpp), from
// the score as X-Spam-Score prints it, so the variables follow the verdict.
TEST(SpamVariables, ProbabilityMapsToTheSpamAssassinScale) {
  using Vars = std::vector<std::pair<std::string, std::string>>;
  scanners::BayesParams p;  // cut-offs 0.45 and 0.99
  auto vars = [&](double score) {
    scanners::Classification c;
    c.score = score;
    c.verdict = score >= p.spam_cutoff  ? scanners::SpamVerdict::kSpam
                : score < p.ham_cutoff ? scanners::SpamVerdict::kHam
                                       : scanners::SpamVerdict::kUnsure;
    return spam_variables(c, p);
  };
  EXPECT_EQ(vars(0.987), (Vars{{"spam_score", "9.9"}, {"spam_score_int", "98"}, {"spam_bar", "+++++++++"}}));
  EXPECT_EQ(vars(0.99), (Vars{{"spam_score", "9.9"}, {"spam_score_int", "99"}, {"spam_bar", "+++++++++"}}));
  EXPECT_EQ(vars(1.0), (Vars{{"spam_score", "10.0"}, {"spam_score_int", "100"}, {"spam_bar", "++++++++++"}}));
  EXPECT_EQ(vars(0.5), (Vars{{"spam_score", "5.0"}, {"spam_score_int", "50"}, {"spam_bar", "+++++"}}));
  EXPECT_EQ(vars(0.07), (Vars{{"spam_score", "0.7"}, {"spam_score_int", "7"}, {"spam_bar", "/"}}));
  EXPECT_EQ(vars(0.0), (Vars{{"spam_score", "0.0"}, {"spam_score_int", "0"}, {"spam_bar", "/"}}));
  EXPECT_EQ(vars(0.0001), (Vars{{"spam_score", "0.0"}, {"spam_score_int", "0"}, {"spam_bar", "/"}}));
  EXPECT_EQ(vars(0.0999), (Vars{{"spam_score", "1.0"}, {"spam_score_int", "9"}, {"spam_bar", "/"}}));
  // Unsure just below the cut-off: never 99, which a filter's "is above
  // 98" takes for spam (Exim's +0.001 fudge gave 99 here).
  EXPECT_EQ(vars(0.9899), (Vars{{"spam_score", "9.9"}, {"spam_score_int", "98"}, {"spam_bar", "+++++++++"}}));
  EXPECT_EQ(vars(0.989999), (Vars{{"spam_score", "9.9"}, {"spam_score_int", "98"}, {"spam_bar", "+++++++++"}}));
  EXPECT_EQ(vars(0.99)[1].second, "99");
  // Every score: $spam_score_int above 98 exactly when the verdict is spam.
  for (int i = 0; i <= 100000; ++i) {
    double x = i / 100000.0;
    EXPECT_EQ(std::stoi(vars(x)[1].second) > 98, x >= p.spam_cutoff) << x;
  }
}

struct RcptCase {
  const char* client;
  const char* auth_user;
  ListenerKind listener;
  const char* rcpt_local;
  const char* rcpt_domain;
  int expect_code;  // 0 = continue
};

TEST(DefaultChain, RelayControlAndRecipientVerification) {
  MemoryDirectory dir("/tmp/nougat-checks-test");
  dir.add_user("alice@x.test", "pw");
  ConfigSources src;
  src.data_dir = "/tmp/nougat-checks-test";
  src.overrides = {"domains.local=[\"x.test\"]", "domains.relay_networks=[\"10.0.0.0/8\"]"};
  auto cfg = load_config(src);
  ASSERT_TRUE(cfg.ok());
  CheckChain chain = default_chain(*cfg, dir);
  const RcptCase cases[] = {
      {"127.0.0.1", "", ListenerKind::kSmtp, "alice", "x.test", 0},
      {"127.0.0.1", "", ListenerKind::kSmtp, "ALICE", "x.test", 0},
      {"127.0.0.1", "", ListenerKind::kSmtp, "nobody", "x.test", 550},
      {"127.0.0.1", "", ListenerKind::kSmtp, "bob", "remote.test", 550},   // no open relay
      {"10.1.2.3", "", ListenerKind::kSmtp, "bob", "remote.test", 0},      // relay network
      {"127.0.0.1", "alice@x.test", ListenerKind::kSubmission, "bob", "remote.test", 0},
  };
  for (const auto& c : cases) {
    SessionFacts s;
    s.client = *parse_ip(c.client);
    s.auth_user = c.auth_user;
    s.listener = c.listener;
    RcptFacts r{std::string(c.rcpt_local) + "@" + c.rcpt_domain, c.rcpt_local, c.rcpt_domain};
    Verdict v = chain.on_rcpt(s, {}, r);
    EXPECT_EQ(v.code, c.expect_code) << c.client << " " << r.address;
    if (c.expect_code == 550) {
      EXPECT_EQ(v.enhanced, std::string(c.rcpt_domain) == "x.test" ? "5.1.1" : "5.7.1");
    }
  }
}

TEST(DefaultChain, SubmissionNeedsAuthAndSizeIsChecked) {
  MemoryDirectory dir("/tmp/nougat-checks-test");
  ConfigSources src;
  src.data_dir = "/tmp/nougat-checks-test";
  src.overrides = {"limits.message_size=1M"};
  auto cfg = load_config(src);
  ASSERT_TRUE(cfg.ok());
  CheckChain chain = default_chain(*cfg, dir);
  SessionFacts s;
  s.listener = ListenerKind::kSubmission;
  MailFacts m{"a@b.test", 0};
  EXPECT_EQ(chain.on_mail(s, m).code, 530);
  s.auth_user = "a@b.test";
  EXPECT_EQ(chain.on_mail(s, m).action, Action::kContinue);
  m.declared_size = (1 << 20) + 1;
  Verdict v = chain.on_mail(s, m);
  EXPECT_EQ(v.code, 552);
  EXPECT_EQ(v.enhanced, "5.3.4");
}

}  // namespace
}  // namespace nougat::engine

namespace nougat::engine {
namespace {

TEST(CheckChain, RemovalsDropEarlierAdditionsAndLaterOnesStay) {
  CheckChain chain;
  chain.add(std::make_unique<Fixed>(tag("X-Note: early")), true);
  Verdict remove;
  remove.remove_headers = {"x-note"};
  remove.add_headers = {"X-Note: from the remover"};
  chain.add(std::make_unique<Fixed>(remove), true);
  chain.add(std::make_unique<Fixed>(tag("X-Note: late")), true);
  std::vector<std::string> rcpts{"a@x.test"};
  Verdict v = chain.on_eod({}, {}, MessageFacts{"id", "data", rcpts});
  EXPECT_EQ(v.add_headers, (std::vector<std::string>{"X-Note: from the remover", "X-Note: late"}));
  EXPECT_EQ(v.remove_headers, std::vector<std::string>{"x-note"});
}

TEST(SpamCheck, TheSendersVerdictFieldsGoEvenUnclassified) {
  auto store = std::make_shared<scanners::MemoryStore>();  // untrained: unsure, nothing tokenized
  Config::Spam cfg;
  SpamCheck check(store, cfg);
  std::vector<std::string> rcpts{"a@x.test"};
  Verdict v = check.on_eod({}, {}, MessageFacts{"id", "X-Spam-Flag: NO\r\nSubject: buy\r\n\r\nnow\r\n", rcpts});
  EXPECT_EQ(v.remove_headers, (std::vector<std::string>{"X-Spam-*"}));  // SpamAssassin's rule: all of them
  ASSERT_EQ(v.add_headers.size(), 3u);
  EXPECT_EQ(v.add_headers[2], "X-Spam-Flag: NO");
  SpamCheck broken(std::make_shared<scanners::MemoryStore>(true), cfg);  // store errors
  Verdict b = broken.on_eod({}, {}, MessageFacts{"id", "X-Spam-Flag: NO\r\n\r\nx\r\n", rcpts});
  EXPECT_EQ(b.action, Action::kContinue);
  EXPECT_TRUE(b.add_headers.empty());
  EXPECT_EQ(b.remove_headers, (std::vector<std::string>{"X-Spam-*"}));
}

// The size limit measures the message as sent, as antivirus.max_size does:
// our Received field in front does not push a message over it.
TEST(SpamCheck, TheSizeLimitIsOnTheMessageAsSent) {
  auto store = std::make_shared<scanners::MemoryStore>();
  Config::Spam cfg;
  SpamCheck check(store, cfg);
  std::vector<std::string> rcpts{"a@x.test"};
  const std::string received = "Received: from client by us\r\n";
  const std::string head = "Subject: big\r\n\r\n";
  std::string at_limit = received + head + std::string(kMaxScanBytes - head.size(), 'x');
  MessageFacts facts{"id", at_limit, rcpts};
  facts.own_header = received.size();
  EXPECT_EQ(check.on_eod({}, {}, facts).add_headers.size(), 3u);  // classified
  std::string over = at_limit + "y";
  MessageFacts big{"id", over, rcpts};
  big.own_header = received.size();
  EXPECT_TRUE(check.on_eod({}, {}, big).add_headers.empty());  // not classified
}

TEST(FieldNames, PatternsEndingInAStarNameEveryFieldWithThatStart) {
  EXPECT_TRUE(name_matches("x-spam-level", "X-Spam-*"));
  EXPECT_TRUE(name_matches("X-Spam-", "X-Spam-*"));
  EXPECT_FALSE(name_matches("X-Spam", "X-Spam-*"));
  EXPECT_FALSE(name_matches("X-Spammer", "X-Spam-*"));
  EXPECT_TRUE(name_matches("x-virus", "X-Virus"));
  EXPECT_FALSE(name_matches("X-Virus-Status", "X-Virus"));
  EXPECT_TRUE(field_named("X-Spam-Level: ***", "X-Spam-*"));
  EXPECT_TRUE(field_named("X-Spam-Flag : YES", "x-spam-flag"));  // obsolete space before the colon
  EXPECT_FALSE(field_named("X-Spam-Flagged: YES", "X-Spam-Flag"));
}

}  // namespace
}  // namespace nougat::engine
