// Classifier: the chi-square arithmetic, the verdicts and cut-offs, the
// untrained case, learning and unlearning, and the headers it produces.
#include "scanners/bayes.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "scanners/memory_store.hpp"

namespace nougat::scanners {
namespace {

std::string msg(std::string_view subject, std::string_view body) {
  return "From: someone@example.org\r\nSubject: " + std::string(subject) + "\r\n\r\n" + std::string(body) + "\r\n";
}

const char* kSpam[] = {"buy cheap viagra now limited offer", "cheap pills online best price guaranteed",
                       "limited offer make money fast click now", "viagra cialis cheap offer online now",
                       "make money fast guaranteed income click here"};
const char* kHam[] = {"meeting notes for the project review tomorrow", "the build failed on the release branch",
                      "lunch tomorrow with the project team", "please review the patch for the parser",
                      "notes from the release planning meeting"};

void train(TokenStore& store, bool bigrams = true) {
  TokenizerOptions o;
  o.bigrams = bigrams;
  std::vector<LearnItem> batch;
  for (int round = 0; round < 4; ++round) {
    for (auto* s : kSpam) batch.push_back({tokenize(msg("offer", s), o).hashes, true, false});
    for (auto* h : kHam) batch.push_back({tokenize(msg("project", h), o).hashes, false, false});
  }
  ASSERT_TRUE(store.learn(batch).ok());
}

TEST(Bayes, Chi2Q) {
  EXPECT_DOUBLE_EQ(chi2q(0, 10), 1.0);
  EXPECT_NEAR(chi2q(2.0, 2), std::exp(-1.0), 1e-12);
  EXPECT_NEAR(chi2q(10.0, 4), std::exp(-5.0) * (1 + 5.0), 1e-12);
  EXPECT_NEAR(chi2q(18.307, 10), 0.05, 1e-4);  // the textbook 95% point
  EXPECT_GE(chi2q(5000, 300), 0.0);
  EXPECT_LT(chi2q(5000, 300), 1e-100);
  // 300 clues (600 degrees), the series both near its median and far out
  // in the tail, where it is rescaled (reference: the log-space series).
  EXPECT_NEAR(chi2q(600, 600), 0.49232221111364355, 1e-12);
  EXPECT_NEAR(chi2q(1500, 600) / 1.3615260357380183e-78, 1.0, 1e-9);
  EXPECT_NEAR(chi2q(300, 600), 1.0, 1e-12);
  EXPECT_EQ(chi2q(12000, 600), 0.0);
}

TEST(Bayes, CombinesUpToMaxTokensPerWordPosition) {
  // A message of 400 words, all seen only in spam: every token is a clue.
  std::string body;
  for (int i = 0; i < 400; ++i) body += "word" + std::to_string(i) + "x ";
  for (bool bigrams : {true, false}) {
    TokenizerOptions o;
    o.bigrams = bigrams;
    MemoryStore store;
    ASSERT_TRUE(store
                    .learn(std::vector<LearnItem>{{tokenize(msg("a", body), o).hashes, true, false},
                                                  {tokenize(msg("b", "other things"), o).hashes, false, false}})
                    .ok());
    Classifier c(store, {}, o);
    EXPECT_EQ(c.clue_cap(), bigrams ? 300u : 150u);
    auto r = c.classify(msg("a", body));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->clues.size(), c.clue_cap());
    EXPECT_GT(r->score, 0.9);  // two messages learnt: not sure enough for "spam" (below)
  }
}

// The clues of a young store count as at most as many independent ones as
// it has learnt messages: 300 clues from 1 spam and 1 ham were "spam" at
// 1.0; as two observations they are a lean, not a verdict. With 300
// messages learnt the same clues decide.
TEST(Bayes, AYoungStoreIsNotSureOfItself) {
  std::string body;
  for (int i = 0; i < 400; ++i) body += "word" + std::to_string(i) + "x ";
  auto spam = tokenize(msg("a", body), {}).hashes;
  MemoryStore store;
  ASSERT_TRUE(store.learn(std::vector<LearnItem>{{spam, true, false},
                                                 {tokenize(msg("b", "other things"), {}).hashes, false, false}})
                  .ok());
  Classifier c(store);
  auto young = c.classify(msg("a", body));
  ASSERT_TRUE(young.ok());
  EXPECT_EQ(young->verdict, SpamVerdict::kUnsure) << young->score;
  EXPECT_GT(young->score, 0.5);
  for (int i = 0; i < 150; ++i) {  // 150 more of each, about other things
    auto other = [&](const char* w) { return tokenize(msg(w, std::string(w) + std::to_string(i)), {}).hashes; };
    ASSERT_TRUE(store.learn(std::vector<LearnItem>{{other("s"), true, false}, {other("h"), false, false}}).ok());
  }
  auto grown = c.classify(msg("a", body));
  ASSERT_TRUE(grown.ok());
  EXPECT_EQ(grown->verdict, SpamVerdict::kSpam) << grown->score;
}

// HTML markup counts as at most max_markup_clues clues: dozens of tag and
// attribute tokens are one fact ("formatted HTML"), not dozens.
TEST(Bayes, MarkupIsAFewCluesNotDozens) {
  std::string html = "<html><body>";
  for (int i = 0; i < 40; ++i) html += "<font color=\"#" + std::to_string(100000 + i) + "\" size=" + std::to_string(i) + ">";
  html += "meeting agenda attached</body></html>";
  auto raw = "Subject: x\r\nContent-Type: text/html\r\n\r\n" + html + "\r\n";
  TokenizerOptions o;
  o.markup = true;
  auto tl = tokenize(raw, o);
  ASSERT_GT(tl.markup.size(), 40u);
  EXPECT_TRUE(std::includes(tl.hashes.begin(), tl.hashes.end(), tl.markup.begin(), tl.markup.end()));
  MemoryStore store;
  std::vector<LearnItem> learn;
  for (int i = 0; i < 20; ++i) {
    learn.push_back({tl.markup, true, false});  // the markup: spam only
    learn.push_back({tokenize(msg("m", "meeting agenda attached " + std::to_string(i)), {}).hashes, false, false});
  }
  ASSERT_TRUE(store.learn(learn).ok());
  for (size_t cap : {size_t(0), size_t(10)}) {
    BayesParams p;
    p.max_markup_clues = cap;
    auto r = Classifier(store, p).classify(tl);
    ASSERT_TRUE(r.ok());
    size_t markup = 0;
    for (const auto& c : r->clues) markup += std::binary_search(tl.markup.begin(), tl.markup.end(), c.token);
    if (cap) EXPECT_EQ(markup, cap);
    else EXPECT_GT(markup, 40u);
  }
}

TEST(Bayes, UntrainedStoreIsUnsureAtOneHalf) {
  MemoryStore store;
  Classifier c(store);
  auto r = c.classify(msg("hi", "buy cheap viagra"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->score, 0.5);
  EXPECT_EQ(r->verdict, SpamVerdict::kUnsure);
  EXPECT_TRUE(r->clues.empty());
  // Only spam trained: still unsure.
  ASSERT_TRUE(store.learn(std::vector<LearnItem>{{tokenize(msg("x", "spam words"), {}).hashes, true, false}}).ok());
  EXPECT_EQ(c.classify(msg("hi", "spam words"))->verdict, SpamVerdict::kUnsure);
}

TEST(Bayes, SeparatesTrainedClasses) {
  MemoryStore store;
  train(store);
  Classifier c(store);
  auto spam = c.classify(msg("offer", "cheap viagra offer click now make money"));
  auto ham = c.classify(msg("project", "the project meeting notes for review"));
  ASSERT_TRUE(spam.ok() && ham.ok());
  EXPECT_EQ(spam->verdict, SpamVerdict::kSpam) << spam->score;
  EXPECT_EQ(ham->verdict, SpamVerdict::kHam) << ham->score;
  EXPECT_GT(spam->score, 0.99);
  EXPECT_LT(ham->score, 0.01);
  // Clues are strongest first and limited.
  for (size_t i = 1; i < spam->clues.size(); ++i)
    EXPECT_GE(std::fabs(spam->clues[i - 1].prob - 0.5), std::fabs(spam->clues[i].prob - 0.5));
  // Words never seen: no evidence.
  auto unknown = c.classify("\r\n\r\nzyxwv qwertz asdfgh\r\n");
  EXPECT_EQ(unknown->score, 0.5);
}

TEST(Bayes, CutoffsDecideTheVerdict) {
  MemoryStore store;
  train(store);
  BayesParams p;
  p.spam_cutoff = 1.0;
  p.ham_cutoff = 0.0;
  Classifier c(store, p);
  EXPECT_EQ(c.classify(msg("offer", "cheap viagra offer"))->verdict, SpamVerdict::kUnsure);
}

TEST(Bayes, MixedEvidenceIsUnsure) {
  MemoryStore store;
  train(store);
  Classifier c(store);
  auto r = c.classify(msg("offer project", "cheap viagra offer meeting notes project review release"));
  EXPECT_EQ(r->verdict, SpamVerdict::kUnsure) << r->score;
}

TEST(Bayes, UnlearnRestores) {
  MemoryStore store;
  train(store);
  auto before = store.totals();
  auto extra = tokenize(msg("new", "completely different words"), {}).hashes;
  ASSERT_TRUE(store.learn(std::vector<LearnItem>{{extra, true, false}}).ok());
  ASSERT_TRUE(store.learn(std::vector<LearnItem>{{extra, true, true}}).ok());
  auto after = store.totals();
  EXPECT_EQ(before->spam_messages, after->spam_messages);
  EXPECT_EQ(before->tokens, after->tokens);
  // Unlearning what was never learnt saturates at zero.
  MemoryStore fresh;
  ASSERT_TRUE(fresh.learn(std::vector<LearnItem>{{extra, false, true}}).ok());
  std::vector<TokenCounts> counts(extra.size());
  auto t = fresh.lookup(extra, counts);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ham_messages, 0u);
  for (auto& k : counts) EXPECT_EQ(k.ham, 0u);
}

TEST(Bayes, StoreErrorsAreResults) {
  MemoryStore store(/*fail=*/true);
  Classifier c(store);
  EXPECT_FALSE(c.classify(msg("x", "y")).ok());
}

TEST(Bayes, LayeredStoreAddsUserCounts) {
  auto global = std::make_shared<MemoryStore>();
  auto user = std::make_shared<MemoryStore>();
  train(*global);
  LayeredStore layered(global, user);
  auto t = tokenize(msg("project", "project meeting"), {}).hashes;
  ASSERT_TRUE(layered.learn(std::vector<LearnItem>{{t, true, false}}).ok());
  EXPECT_EQ(user->totals()->spam_messages, 1u);
  EXPECT_EQ(layered.totals()->spam_messages, global->totals()->spam_messages + 1);
}

TEST(Bayes, LayeredStoreSaturatesLikeTheCounts) {
  // A global store whose every count is at the cap.
  struct Full final : TokenStore {
    Result<StoreTotals> lookup(std::span<const uint64_t>, std::span<TokenCounts> out) const override {
      for (auto& c : out) c = {UINT32_MAX, UINT32_MAX - 1};
      return StoreTotals{1, 1, 1};
    }
    Status learn(std::span<const LearnItem>, LearnOutcome*) override { return Ok{}; }
    Result<StoreTotals> totals() const override { return StoreTotals{1, 1, 1}; }
  };
  auto user = std::make_shared<MemoryStore>();
  auto t = tokenize(msg("project", "project meeting"), {}).hashes;
  ASSERT_TRUE(user->learn(std::vector<LearnItem>{{t, true, false}, {t, false, false}}).ok());
  LayeredStore layered(std::make_shared<Full>(), user);
  std::vector<TokenCounts> out(t.size());
  ASSERT_TRUE(layered.lookup(t, out).ok());
  EXPECT_EQ(out[0].spam, UINT32_MAX);
  EXPECT_EQ(out[0].ham, UINT32_MAX);
}

TEST(Bayes, Headers) {
  Classification c;
  c.score = 0.9987;
  c.verdict = SpamVerdict::kSpam;
  auto h = spam_headers(c, BayesParams{});
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0], "X-Spam-Score: 0.9987");
  EXPECT_EQ(h[1].rfind("X-Spam-Status: Yes, score=0.9987 required=0.9900 verdict=spam", 0), 0u) << h[1];
  EXPECT_EQ(h[2], "X-Spam-Flag: YES");
  c.score = 0.01;
  c.verdict = SpamVerdict::kHam;
  EXPECT_EQ(spam_headers(c, BayesParams{})[2], "X-Spam-Flag: NO");
  // Rounding never makes the score read as another verdict, and both fields
  // print the same number.
  c.score = 0.98996;
  c.verdict = SpamVerdict::kUnsure;
  h = spam_headers(c, BayesParams{});
  EXPECT_EQ(h[0], "X-Spam-Score: 0.9899");
  EXPECT_EQ(h[1].rfind("X-Spam-Status: No, score=0.9899 required=0.9900", 0), 0u) << h[1];
  c.score = 0.0004;
  c.verdict = SpamVerdict::kHam;
  h = spam_headers(c, BayesParams{});
  EXPECT_EQ(h[0], "X-Spam-Score: 0.0004");
  EXPECT_EQ(h[1].rfind("X-Spam-Status: No, score=0.0004 ", 0), 0u) << h[1];
}

}  // namespace
}  // namespace nougat::scanners
