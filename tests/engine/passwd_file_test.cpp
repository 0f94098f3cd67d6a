#include "engine/passwd_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>

#include "engine/memory_directory.hpp"
#include "engine/password.hpp"

namespace nougat::engine {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kData = "/srv/data";
// {PLAIN} keeps the tests fast; the hash schemes are password_test's job.
const std::string kPw = "{PLAIN}pw";

TEST(PasswdParseTest, GoodLines) {
  struct Case {
    std::string line;
    std::string address, local, domain;
    fs::path home;
  };
  const Case cases[] = {
      {"kitkat@aaa.test:" + kPw + ":", "kitkat@aaa.test", "kitkat", "aaa.test",
       "/srv/data/home/aaa.test/kitkat"},
      {"kitkat@aaa.test:" + kPw, "kitkat@aaa.test", "kitkat", "aaa.test",
       "/srv/data/home/aaa.test/kitkat"},
      {"kitkat@aaa.test:" + kPw + ":/home/kk", "kitkat@aaa.test", "kitkat", "aaa.test", "/home/kk"},
      {"Kit.Kat@AAA.Test:" + kPw + ":", "Kit.Kat@aaa.test", "Kit.Kat", "aaa.test",
       "/srv/data/home/aaa.test/kit.kat"},
      {"kitkat@aaa.test:" + kPw + ":/home//kk/", "kitkat@aaa.test", "kitkat", "aaa.test",
       "/home/kk/"},
      // Dovecot: user:pass:uid:gid:gecos:home:shell:extra
      {"d@bbb.test:" + kPw +
           ":1000:1000:Dee:/var/vmail/d:/bin/false:userdb_quota_rule=*:storage=1G",
       "d@bbb.test", "d", "bbb.test", "/var/vmail/d"},
      {"d@bbb.test:" + kPw + ":1000:1000::/var/vmail/d::", "d@bbb.test", "d", "bbb.test",
       "/var/vmail/d"},
      {"d@bbb.test:" + kPw + ":1000:1000::/var/vmail/d", "d@bbb.test", "d", "bbb.test",
       "/var/vmail/d"},
      {"d@bbb.test:" + kPw + ":1000:1000", "d@bbb.test", "d", "bbb.test",
       "/srv/data/home/bbb.test/d"},
      {"d@bbb.test:" + kPw + ":1000:1000:::/bin/sh", "d@bbb.test", "d", "bbb.test",
       "/srv/data/home/bbb.test/d"},
      {"d@bbb.test:" + kPw + ":/h\r", "d@bbb.test", "d", "bbb.test", "/h"},
  };
  for (const auto& c : cases) {
    auto p = parse_passwd_file(c.line + "\n", "users", kData);
    ASSERT_EQ(p.entries.size(), 1u) << c.line;
    EXPECT_TRUE(p.problems.empty()) << c.line << ": " << p.problems.front();
    const User& u = p.entries[0].user;
    EXPECT_EQ(u.address, c.address) << c.line;
    EXPECT_EQ(u.local_part, c.local) << c.line;
    EXPECT_EQ(u.domain, c.domain) << c.line;
    EXPECT_EQ(u.home, c.home) << c.line;
    EXPECT_EQ(u.maildir(), c.home / "Maildir") << c.line;
    EXPECT_EQ(u.password_hash, kPw) << c.line;
  }
}

TEST(PasswdParseTest, BadLinesAreReportedWithLineNumbersAndSkipped) {
  struct Case {
    std::string line, problem;
  };
  const Case cases[] = {
      {"justaname", "users:3: expected user@domain:{SCHEME}hash[:home]"},
      {"nodomain:" + kPw, "users:3: bad user 'nodomain': address must be local@domain"},
      {"a@b@c:" + kPw, "users:3: bad user 'a@b@c': address has more than one '@'"},
      {"@b.test:" + kPw, "users:3: bad user '@b.test': address has an empty local part"},
      {"a@:" + kPw, "users:3: bad user 'a@': address has an empty domain"},
      {"a b@c.test:" + kPw,
       "users:3: bad user 'a b@c.test': address contains whitespace or a control character"},
      {":" + kPw, "users:3: bad user '': empty address"},
      {"a@c.test:" + kPw + ":relative/home",
       "users:3: home 'relative/home' is not an absolute path (3-field lines are "
       "user:password:home)"},
      {"a@c.test:" + kPw + ":1000",
       "users:3: home '1000' is not an absolute path (3-field lines are user:password:home)"},
      {"a@c.test:" + kPw + ":1:1::home:", "users:3: home 'home' is not an absolute path"},
      {"a@c.test:" + kPw + ":/h\tx", "users:3: home contains a control character"},
  };
  for (const auto& c : cases) {
    std::string text = "# users\nok@c.test:" + kPw + "\n" + c.line + "\n\nok2@c.test:" + kPw + "\n";
    auto p = parse_passwd_file(text, "users", kData);
    ASSERT_EQ(p.problems.size(), 1u) << c.line;
    EXPECT_EQ(p.problems[0], c.problem);
    ASSERT_EQ(p.entries.size(), 2u) << c.line;
    EXPECT_EQ(p.entries[0].user.address, "ok@c.test");
    EXPECT_EQ(p.entries[0].line, 2u);
    EXPECT_EQ(p.entries[1].user.address, "ok2@c.test");
    EXPECT_EQ(p.entries[1].line, 5u);
  }
}

TEST(PasswdParseTest, CommentsBlanksAndNoFinalNewline) {
  auto p = parse_passwd_file("# comment\n\n   \n  # indented comment\r\n\t\na@b.test:" + kPw,
                             "/x/users", kData);
  EXPECT_TRUE(p.problems.empty());
  ASSERT_EQ(p.entries.size(), 1u);
  EXPECT_EQ(p.entries[0].line, 6u);
  EXPECT_TRUE(parse_passwd_file("", "u", kData).entries.empty());
}

TEST(PasswdParseTest, DuplicatesFirstWins) {
  auto p = parse_passwd_file("a@b.test:{PLAIN}one\nA@B.TEST:{PLAIN}two\n", "u", kData);
  ASSERT_EQ(p.entries.size(), 1u);
  EXPECT_EQ(p.entries[0].user.password_hash, "{PLAIN}one");
  ASSERT_EQ(p.problems.size(), 1u);
  EXPECT_EQ(p.problems[0], "u:2: duplicate user A@b.test (first at line 1); ignored");
}

TEST(PasswdParseTest, UnusablePasswordKeepsUserWithWarning) {
  auto p = parse_passwd_file("a@b.test::\nc@b.test:{SSHA}xyz\n", "u", kData);
  ASSERT_EQ(p.entries.size(), 2u);
  ASSERT_EQ(p.problems.size(), 2u);
  EXPECT_EQ(p.problems[0], "u:1: empty password: a@b.test can receive mail but not log in");
  EXPECT_EQ(p.problems[1],
            "u:2: unknown password scheme: c@b.test can receive mail but not log in");
}

TEST(PasswdLineTest, EditHelpers) {
  EXPECT_EQ(passwd_line_address("a@b.test:x:y"), "a@b.test");
  EXPECT_EQ(passwd_line_address("a@b.test"), "a@b.test");
  EXPECT_EQ(passwd_line_address("# a@b.test:x"), "");
  EXPECT_EQ(passwd_line_address("   "), "");
  EXPECT_EQ(passwd_line_with_password("a@b:old:/h", "new"), "a@b:new:/h");
  EXPECT_EQ(passwd_line_with_password("a@b:old", "new"), "a@b:new");
  EXPECT_EQ(passwd_line_with_password("a@b:old\r", "new"), "a@b:new\r");
  EXPECT_EQ(passwd_line_with_password("a@b", "new"), "a@b:new");
  EXPECT_EQ(passwd_line_with_password("a@b:old:1:2:g:/h:/sh:x=y", "new"),
            "a@b:new:1:2:g:/h:/sh:x=y");
  EXPECT_EQ(*format_passwd_line("a@b.test", "{PLAIN}x", ""), "a@b.test:{PLAIN}x:");
  EXPECT_EQ(*format_passwd_line("a@b.test", "{PLAIN}x", "/h"), "a@b.test:{PLAIN}x:/h");
  EXPECT_FALSE(format_passwd_line("a@b.test", "{PLAIN}x:y", "").ok());
  EXPECT_FALSE(format_passwd_line("a@b.test", "{PLAIN}x", "/h:1").ok());
  EXPECT_FALSE(format_passwd_line("a@b.test", "{PLAIN}x", "rel").ok());
  EXPECT_FALSE(format_passwd_line("a@b.test", "{PLAIN}x\n", "").ok());
  EXPECT_FALSE(format_passwd_line("ab.test", "{PLAIN}x", "").ok());
  // What the writer makes, the parser reads back.
  auto line = *format_passwd_line("a@b.test", "{PLAIN}x", "/h");
  auto p = parse_passwd_file(line + "\n", "u", kData);
  ASSERT_EQ(p.entries.size(), 1u);
  EXPECT_EQ(p.entries[0].user.home, "/h");
}

class PasswdFileDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nougat-passwd-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    file_ = dir_ / "users";
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& text) { ASSERT_TRUE(write_passwd_file(file_, text).ok()); }

  fs::path dir_, file_;
};

TEST_F(PasswdFileDirectoryTest, MissingFileIsEmpty) {
  PasswdFileDirectory d(file_, dir_);
  EXPECT_FALSE(d.find("a@b.test"));
  EXPECT_FALSE(d.authenticate("a@b.test", "pw"));
  EXPECT_TRUE(d.problems().empty());
  auto r = read_passwd_file(file_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "");
}

TEST_F(PasswdFileDirectoryTest, FindAndAuthenticate) {
  auto h = hash_password("s3cret");
  ASSERT_TRUE(h.ok());
  write("# users\nKitKat@AAA.test:" + *h + ":\nbad line\nplain@aaa.test:{PLAIN}pw:/m/p\n");
  struct stat st {};
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  PasswdFileDirectory d(file_, dir_);
  auto u = d.find("kitkat@aaa.test");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->address, "KitKat@aaa.test");
  EXPECT_EQ(u->home, dir_ / "home/aaa.test/kitkat");
  EXPECT_TRUE(d.find("KITKAT@aaa.TEST"));
  EXPECT_FALSE(d.find("kitkat@bbb.test"));
  EXPECT_FALSE(d.find(""));
  EXPECT_TRUE(d.authenticate("kitkat@AAA.test", "s3cret"));
  EXPECT_FALSE(d.authenticate("kitkat@aaa.test", "s3creT"));
  EXPECT_FALSE(d.authenticate("nobody@aaa.test", "s3cret"));
  EXPECT_TRUE(d.authenticate("plain@aaa.test", "pw"));
  EXPECT_EQ(d.find("plain@aaa.test")->maildir(), "/m/p/Maildir");
  ASSERT_EQ(d.problems().size(), 1u);
  EXPECT_EQ(d.problems()[0], file_.string() + ":3: expected user@domain:{SCHEME}hash[:home]");
  EXPECT_EQ(d.users().size(), 2u);
}

TEST_F(PasswdFileDirectoryTest, ReloadsAfterTheFileChanges) {
  write("a@b.test:{PLAIN}one\n");
  PasswdFileDirectory d(file_, dir_, 0ms);
  EXPECT_TRUE(d.authenticate("a@b.test", "one"));
  EXPECT_FALSE(d.find("c@b.test"));

  write("a@b.test:{PLAIN}two\nc@b.test:{PLAIN}three\n");  // atomic replace: new inode
  EXPECT_TRUE(d.authenticate("a@b.test", "two"));
  EXPECT_FALSE(d.authenticate("a@b.test", "one"));
  EXPECT_TRUE(d.find("c@b.test"));

  {  // in-place edit (same inode), as an editor without rename might do
    std::ofstream out(file_, std::ios::trunc);
    out << "a@b.test:{PLAIN}TWO2\nc@b.test:{PLAIN}three\n";
  }
  EXPECT_TRUE(d.authenticate("a@b.test", "TWO2"));

  fs::remove(file_);
  EXPECT_FALSE(d.find("a@b.test"));
  write("# back\n");
  EXPECT_TRUE(d.users().empty());
}

TEST_F(PasswdFileDirectoryTest, ThrottledChecksSeeChangesAfterTheInterval) {
  write("a@b.test:{PLAIN}one\n");
  PasswdFileDirectory d(file_, dir_, 150ms);
  EXPECT_TRUE(d.find("a@b.test"));
  write("c@b.test:{PLAIN}x\n");
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(d.find("a@b.test"));
  EXPECT_TRUE(d.find("c@b.test"));
}

TEST_F(PasswdFileDirectoryTest, UnreadableFileKeepsPreviousUsers) {
  write("a@b.test:{PLAIN}one\n");
  PasswdFileDirectory d(file_, dir_, 0ms);
  ASSERT_TRUE(d.find("a@b.test"));
  // A directory in its place: unreadable even for root (EISDIR).
  fs::remove(file_);
  fs::create_directory(file_);
  EXPECT_TRUE(d.authenticate("a@b.test", "one"));
  ASSERT_EQ(d.problems().size(), 1u);
  EXPECT_EQ(d.problems()[0], file_.string() + ": cannot read: Is a directory");
  // Once the file is back, the new contents are served and the problem is gone.
  fs::remove(file_);
  write("c@b.test:{PLAIN}x\n");
  EXPECT_FALSE(d.find("a@b.test"));
  EXPECT_TRUE(d.find("c@b.test"));
  EXPECT_TRUE(d.problems().empty());
}

TEST_F(PasswdFileDirectoryTest, ConcurrentReadersDuringRewrites) {
  write("a@b.test:{PLAIN}pw\n");
  PasswdFileDirectory d(file_, dir_, 0ms);
  std::atomic<bool> stop{false};
  std::atomic<int> misses{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!stop) {
        if (!d.authenticate("a@b.test", "pw")) ++misses;
        (void)d.find("x@b.test");
      }
    });
  }
  for (int i = 0; i < 30; ++i)
    write("a@b.test:{PLAIN}pw\nx" + std::to_string(i) + "@b.test:{PLAIN}q\n");
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(misses.load(), 0);
}

TEST(MemoryDirectoryTest, SameRulesAsThePasswdFile) {
  MemoryDirectory d("/data");
  d.add_user("Kit@AAA.test", "pw");
  auto u = d.find("kit@aaa.TEST");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->address, "Kit@aaa.test");
  EXPECT_EQ(u->maildir(), "/data/home/aaa.test/kit/Maildir");
  EXPECT_TRUE(d.authenticate("KIT@aaa.test", "pw"));
  EXPECT_FALSE(d.authenticate("kit@aaa.test", "PW"));
  EXPECT_TRUE(d.remove("kit@aaa.test"));
  EXPECT_FALSE(d.find("kit@aaa.test"));
}

// users() through the Directory interface: what the Junk trainer walks.
TEST_F(PasswdFileDirectoryTest, ListsUsersThroughTheInterface) {
  write("b@x.test:{PLAIN}1\na@x.test:{PLAIN}2:/m/a\n");
  PasswdFileDirectory pf(file_, dir_, 0ms);
  MemoryDirectory mem(dir_);
  mem.add_user("b@x.test", "1");
  mem.add_user("A@x.test", "2", "/m/a");
  for (const Directory* d : {static_cast<const Directory*>(&pf), static_cast<const Directory*>(&mem)}) {
    auto all = d->users();
    ASSERT_EQ(all.size(), 2u);
    std::vector<std::string> homes;
    for (const auto& u : all) homes.push_back(u.home.string());
    std::sort(homes.begin(), homes.end());
    EXPECT_EQ(homes, (std::vector<std::string>{"/m/a", (dir_ / "home/x.test/b").string()}));
  }
  EXPECT_EQ(pf.users()[0].address, "b@x.test");  // file order
  write("a@x.test:{PLAIN}2\n");                  // seen at once, as find() sees it
  EXPECT_EQ(pf.users().size(), 1u);
  mem.remove("a@x.test");
  EXPECT_EQ(mem.users().size(), 1u);
}

TEST(DirectoryAddressTest, Validation) {
  EXPECT_TRUE(parse_user_address("a@b").ok());
  EXPECT_EQ(parse_user_address("A@B.Test")->domain, "b.test");
  EXPECT_EQ(parse_user_address("A@B.Test")->local_part, "A");
  EXPECT_FALSE(parse_user_address("a@b:c").ok());
  EXPECT_FALSE(parse_user_address(std::string("a\0@b", 4)).ok());
  EXPECT_FALSE(parse_user_address("a@b\x7f").ok());
  EXPECT_FALSE(parse_user_address(std::string(250, 'a') + "@b.test").ok());
  // RFC 5321 Dot-string, for new users only: such a user could get no
  // mail, nor a Bayes store; one already in a users file stays usable.
  for (const char* bad : {".alice@b.test", "alice.@b.test", "al..ice@b.test"}) {
    EXPECT_FALSE(parse_new_user_address(bad).ok()) << bad;
    EXPECT_TRUE(parse_user_address(bad).ok()) << bad;
  }
  EXPECT_TRUE(parse_new_user_address("al.ice@b.test").ok());
}

}  // namespace
}  // namespace nougat::engine
