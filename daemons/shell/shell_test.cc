// The shell's commands against the daemons in this process: what each
// prints, and that a wrong command or argument prints why and changes
// nothing.

#include "daemons/shell/shell.h"

#include <sstream>
#include <string>

#include "daemons/daemon_cluster_test_base.h"
#include "gtest/gtest.h"

namespace pegasus::shell {
namespace {

class ShellTest : public daemons::DaemonClusterTest {
 protected:
  // Runs `line`; what it printed. `ok` says whether it should succeed.
  std::string Run(const std::string& line, bool ok = true) {
    std::ostringstream out;
    Shell shell(remote_.get(), out);
    if (!table_.empty()) {
      EXPECT_TRUE(shell.Execute("use " + table_));
    }
    out.str("");
    EXPECT_EQ(shell.Execute(line), ok) << line << "\n" << out.str();
    return out.str();
  }

  std::string table_ = "temp";
};

TEST_F(ShellTest, DataCommands) {
  EXPECT_EQ(Run("set user1 name ann"), "OK\n");
  EXPECT_EQ(Run("get user1 name"), "\"ann\"\n");
  EXPECT_EQ(Run("get user1 nobody"), "not found\n");
  EXPECT_EQ(Run("set user1 \"bin key\" \"\\x00\\xff\""), "OK\n");
  EXPECT_EQ(Run("multi_get user1"),
            "hash_key  sort_key   value\n"
            "\"user1\"   \"bin key\"  \"\\x00\\xff\"\n"
            "\"user1\"   \"name\"     \"ann\"\n"
            "2 rows\n");
  EXPECT_EQ(Run("multi_set h a 1 b 2 c 3"), "OK: 3 rows\n");
  EXPECT_EQ(Run("count h"), "3\n");
  EXPECT_EQ(Run("multi_get_range h a c --no_value"),
            "hash_key  sort_key  value\n"
            "\"h\"       \"a\"       \"\"\n"
            "\"h\"       \"b\"       \"\"\n"
            "2 rows\n");
  EXPECT_EQ(Run("multi_get_sortkeys h"),
            "sort_key\n\"a\"\n\"b\"\n\"c\"\n3 sort keys\n");
  EXPECT_EQ(Run("incr h n 7"), "7\n");
  EXPECT_EQ(Run("incr h n"), "8\n");
  EXPECT_EQ(Run("exist h a"), "exists\n");
  EXPECT_EQ(Run("ttl h a"), "no TTL\n");
  EXPECT_EQ(Run("check_and_set h a bytes_equal 1 a one --return_check_value"),
            "check passed, set; checked value \"1\"\n");
  EXPECT_EQ(Run("check_and_set h a bytes_equal 1 a uno"), "check failed\n");
  EXPECT_EQ(Run("check_and_mutate h a bytes_equal one set b two del c"),
            "check passed, set\n");
  EXPECT_EQ(Run("hash_scan h a \"\""),
            "hash_key  sort_key  value\n"
            "\"h\"       \"a\"       \"one\"\n"
            "\"h\"       \"b\"       \"two\"\n"
            "\"h\"       \"n\"       \"8\"\n"
            "3 rows\n");
  EXPECT_EQ(Run("multi_del h a b"), "OK: 2 sort keys\n");
  EXPECT_EQ(Run("multi_del_range h \"\" \"\""), "OK: 1 rows deleted\n");
  EXPECT_EQ(Run("count_data"), "2 rows\n");
  EXPECT_EQ(Run("full_scan --max_count 1").substr(0, 26),
            "hash_key  sort_key   value");
}

TEST_F(ShellTest, AdminCommands) {
  EXPECT_EQ(Run("create t2 -p 4 -r 3 -e default_ttl=0"),
            "OK: table t2 is app 2\n");
  std::string ls = Run("ls");
  EXPECT_NE(ls.find("2       t2    AVAILABLE  4           3         "
                    "default_ttl=0"),
            std::string::npos)
      << ls;
  std::string app = Run("app temp");
  EXPECT_NE(app.find("8 partitions: 8 healthy"), std::string::npos) << app;
  std::string nodes = Run("nodes");
  EXPECT_NE(nodes.find("3 replica servers, 3 alive"), std::string::npos);
  EXPECT_NE(
      Run("cluster_info").find("meta_server       " + meta_->self().ToString()),
      std::string::npos);
  EXPECT_EQ(Run("rename t2 t3"), "OK\n");
  EXPECT_EQ(Run("drop t3"), "OK: dropped; `recall <app_id>` brings it back\n");
  EXPECT_NE(Run("ls -a").find("t3    DROPPED"), std::string::npos);
  EXPECT_EQ(Run("recall 2 t4"), "OK: recalled as t4\n");
  EXPECT_EQ(Run("set_app_envs default_ttl 3600 business.info team-a"), "OK\n");
  EXPECT_EQ(Run("get_app_envs"),
            "key            value\n"
            "business.info  team-a\n"
            "default_ttl    3600\n");
  EXPECT_EQ(Run("del_app_envs default_ttl"), "OK\n");
  EXPECT_EQ(Run("get_app_envs"),
            "key            value\nbusiness.info  team-a\n");
  EXPECT_NE(Run("set_app_envs nokey v", false).find("unknown env"),
            std::string::npos);
  EXPECT_EQ(Run("get_replica_count temp"), "3\n");
  EXPECT_EQ(Run("set_meta_level steady"), "OK: steady\n");
  EXPECT_EQ(Run("get_meta_level"), "steady\n");
}

TEST_F(ShellTest, WrongCommandsSayWhyAndChangeNothing) {
  EXPECT_EQ(Run("set k s v"), "OK\n");
  EXPECT_EQ(Run("nonsense", false),
            "error: unknown command 'nonsense' (help lists them)\n");
  EXPECT_EQ(Run("set k s", false),
            "error: PERR_INVALID_ARGUMENT: wrong number of arguments\n"
            "usage: set <hash_key> <sort_key> <value> [ttl_seconds]\n");
  EXPECT_NE(Run("set k s \"unclosed", false).find("unclosed"),
            std::string::npos);
  EXPECT_NE(Run("set \"\" s v", false).find("error: "), std::string::npos);
  EXPECT_NE(Run("set k s v notanumber", false).find("the TTL must be"),
            std::string::npos);
  EXPECT_NE(Run("create bad -p 3", false).find("PERR_INVALID"),
            std::string::npos);
  EXPECT_NE(Run("create x --bogus", false).find("unknown option --bogus"),
            std::string::npos);
  EXPECT_NE(
      Run("check_and_set k s nocheck x s v", false).find("unknown check type"),
      std::string::npos);
  EXPECT_NE(Run("balance --gpid 1 --type move_pri", false)
                .find("app_id.partition_index"),
            std::string::npos);
  EXPECT_NE(Run("set_meta_level high", false).find("levels are"),
            std::string::npos);
  EXPECT_EQ(Run("get k s"), "\"v\"\n");
  EXPECT_EQ(Run("ls"),
            "app_id  name  status     partitions  replicas  envs\n"
            "1       temp  AVAILABLE  8           3\n"
            "1 tables\n");
  table_ = "";
  EXPECT_NE(Run("get k s", false).find("`use <table>` first"),
            std::string::npos);
  EXPECT_NE(Run("use nosuchtable", false).find("PERR_APP_NOT_EXIST"),
            std::string::npos);
}

}  // namespace
}  // namespace pegasus::shell
