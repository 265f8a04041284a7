// The shell's command table: names, usage, options and handlers.

#include "daemons/shell/shell.h"

namespace pegasus::shell {
namespace {

// Options shared by the range reads.
OptionSpec RangeOptions() {
  OptionSpec spec;
  spec.valued = {{"--start_inclusive", "start_inclusive"},
                 {"--stop_inclusive", "stop_inclusive"},
                 {"--sort_key_filter_type", "sort_key_filter_type"},
                 {"--sort_key_filter_pattern", "sort_key_filter_pattern"},
                 {"--max_count", "max_count"}};
  spec.flags = {{"--no_value", "no_value"}, {"--reverse", "reverse"}};
  return spec;
}

}  // namespace

void Shell::Register() {
  auto add = [&](const std::string& name, std::string usage, std::string help,
                 Handler handler, int min_args, int max_args,
                 OptionSpec options = {}) {
    commands_[name] =
        Command{std::move(usage), std::move(help), std::move(options),
                handler,          min_args,        max_args};
  };
  // Basic.
  add("help", "[command]", "Lists the commands, or says what one does.",
      &Shell::Help, 0, 1);
  add("use", "<table>", "Data commands act on this table from now on.",
      &Shell::Use, 1, 1);
  add("exit", "", "Leaves the shell.", &Shell::Exit, 0, 0);
  add("quit", "", "Leaves the shell.", &Shell::Exit, 0, 0);
  add("timeout", "[ms]", "Shows or sets each operation's deadline.",
      &Shell::Timeout, 0, 1);
  add("wait_healthy", "[--timeout_s N]",
      "Waits until every partition of every table is healthy (60 s).",
      &Shell::WaitHealthy, 0, 0,
      OptionSpec{.valued = {{"--timeout_s", "timeout_s"}}});
  // Data.
  add("set", "<hash_key> <sort_key> <value> [ttl_seconds]", "Writes a row.",
      &Shell::Set, 3, 4);
  add("multi_set",
      "<hash_key> <sort_key> <value> [<sort_key> <value>...] "
      "[--ttl N]",
      "Writes rows of one hash key atomically.", &Shell::MultiSet, 3, -1,
      OptionSpec{.valued = {{"--ttl", "ttl"}}});
  add("get", "<hash_key> <sort_key>", "Reads a row.", &Shell::Get, 2, 2);
  add("multi_get", "<hash_key> [sort_key...] [--max_count N]",
      "Reads rows of one hash key (all of them with no sort key).",
      &Shell::MultiGet, 1, -1,
      OptionSpec{.valued = {{"--max_count", "max_count"}}});
  add("multi_get_range",
      "<hash_key> <start_sort_key> <stop_sort_key> [--start_inclusive "
      "true|false] [--stop_inclusive true|false] [--sort_key_filter_type "
      "anywhere|prefix|postfix --sort_key_filter_pattern P] [--max_count N] "
      "[--no_value] [--reverse]",
      "Reads a range of one hash key's rows (an empty stop: to the end).",
      &Shell::MultiGetRange, 3, 3, RangeOptions());
  add("multi_get_sortkeys", "<hash_key>", "Lists a hash key's sort keys.",
      &Shell::MultiGetSortKeys, 1, 1);
  add("del", "<hash_key> <sort_key>", "Deletes a row.", &Shell::Del, 2, 2);
  add("multi_del", "<hash_key> <sort_key> [sort_key...]",
      "Deletes rows of one hash key atomically.", &Shell::MultiDel, 2, -1);
  add("multi_del_range",
      "<hash_key> <start_sort_key> <stop_sort_key> [--start_inclusive "
      "true|false] [--stop_inclusive true|false] [--sort_key_filter_type T "
      "--sort_key_filter_pattern P]",
      "Deletes a range of one hash key's rows, a page at a time.",
      &Shell::MultiDelRange, 3, 3, RangeOptions());
  add("incr", "<hash_key> <sort_key> [increment]",
      "Adds to a row read as an integer (1 by default).", &Shell::Incr, 2, 3);
  add("check_and_set",
      "<hash_key> <check_sort_key> <check_type> <check_operand> "
      "<set_sort_key> <set_value> [--ttl N] [--return_check_value]",
      "Sets a row if another row of the hash key passes a check "
      "(value_exist, bytes_equal, int_less, ...).",
      &Shell::CheckAndSet, 6, 6,
      OptionSpec{.valued = {{"--ttl", "ttl"}},
                 .flags = {{"--return_check_value", "return_check_value"}}});
  add("check_and_mutate",
      "<hash_key> <check_sort_key> <check_type> <check_operand> "
      "(set <sort_key> <value> | del <sort_key>)... [--return_check_value]",
      "Applies mutations atomically if a row passes a check.",
      &Shell::CheckAndMutate, 6, -1,
      OptionSpec{.flags = {{"--return_check_value", "return_check_value"}}});
  add("exist", "<hash_key> <sort_key>", "Whether a row exists.", &Shell::Exist,
      2, 2);
  add("count", "<hash_key>", "Counts a hash key's rows.", &Shell::Count, 1, 1);
  add("ttl", "<hash_key> <sort_key>", "A row's remaining TTL.", &Shell::Ttl, 2,
      2);
  add("hash_scan",
      "<hash_key> <start_sort_key> <stop_sort_key> [--start_inclusive "
      "true|false] [--stop_inclusive true|false] [--sort_key_filter_type T "
      "--sort_key_filter_pattern P] [--max_count N] [--no_value]",
      "Scans a range of one hash key's rows.", &Shell::HashScan, 3, 3,
      RangeOptions());
  add("full_scan",
      "[--hash_key_filter_type T --hash_key_filter_pattern P] "
      "[--sort_key_filter_type T --sort_key_filter_pattern P] [--max_count "
      "N] [--no_value]",
      "Scans the whole table.", &Shell::FullScan, 0, 0,
      OptionSpec{
          .valued = {{"--hash_key_filter_type", "hash_key_filter_type"},
                     {"--hash_key_filter_pattern", "hash_key_filter_pattern"},
                     {"--sort_key_filter_type", "sort_key_filter_type"},
                     {"--sort_key_filter_pattern", "sort_key_filter_pattern"},
                     {"--max_count", "max_count"}},
          .flags = {{"--no_value", "no_value"}}});
  add("count_data", "", "Counts the table's rows (a full scan).",
      &Shell::CountData, 0, 0);
  // Admin.
  add("ls", "[-a]", "Lists the tables (-a: the dropped ones too).", &Shell::Ls,
      0, 0, OptionSpec{.flags = {{"-a", "all"}, {"--all", "all"}}});
  add("app", "<table>", "A table's partitions: members and health.",
      &Shell::App, 1, 1);
  add("create",
      "<table> [-p partition_count] [-r replica_count] [-e k=v,k=v] "
      "[--success_if_exist]",
      "Creates a table (4 partitions, 3 replicas by default).", &Shell::Create,
      1, 1,
      OptionSpec{.valued = {{"-p", "partition_count"},
                            {"--partition_count", "partition_count"},
                            {"-r", "replica_count"},
                            {"--replica_count", "replica_count"},
                            {"-e", "envs"},
                            {"--envs", "envs"}},
                 .flags = {{"--success_if_exist", "success_if_exist"}}});
  add("drop", "<table> [--reserve_seconds N]",
      "Drops a table; it can be recalled until it is purged.", &Shell::Drop, 1,
      1, OptionSpec{.valued = {{"--reserve_seconds", "reserve_seconds"}}});
  add("recall", "<app_id> [new_name]", "Brings a dropped table back.",
      &Shell::Recall, 1, 2);
  add("rename", "<old_name> <new_name>", "Renames a table.", &Shell::Rename, 2,
      2);
  add("get_app_envs", "", "The table in use's envs.", &Shell::GetAppEnvs, 0, 0);
  add("set_app_envs", "<key> <value> [<key> <value>...]",
      "Sets envs of the table in use.", &Shell::SetAppEnvs, 2, -1);
  add("del_app_envs", "<key> [key...]", "Deletes envs of the table in use.",
      &Shell::DelAppEnvs, 1, -1);
  add("clear_app_envs", "[--prefix P]",
      "Deletes every env of the table in use (starting with P).",
      &Shell::ClearAppEnvs, 0, 0,
      OptionSpec{.valued = {{"--prefix", "prefix"}}});
  add("get_replica_count", "<table>", "A table's replica count.",
      &Shell::GetReplicaCount, 1, 1);
  add("set_replica_count", "<table> <count>", "Changes a table's replicas.",
      &Shell::SetReplicaCount, 2, 2);
  add("nodes", "", "The replica servers, alive or not, and their replicas.",
      &Shell::Nodes, 0, 0);
  add("cluster_info", "",
      "The meta server, its level and the partitions' "
      "health.",
      &Shell::ClusterInfo, 0, 0);
  add("propose",
      "--gpid app.partition --type T --node ip:port [--target ip:port]",
      "One configuration change of a partition, by hand.", &Shell::Propose, 0,
      0,
      OptionSpec{.valued = {{"--gpid", "gpid"},
                            {"-g", "gpid"},
                            {"--type", "type"},
                            {"-p", "type"},
                            {"--node", "node"},
                            {"-n", "node"},
                            {"--target", "target"},
                            {"-t", "target"}}});
  add("balance",
      "--gpid app.partition --type move_pri|copy_pri|copy_sec --from ip:port "
      "--to ip:port",
      "Moves a primary or a replica between servers.", &Shell::Balance, 0, 0,
      OptionSpec{.valued = {{"--gpid", "gpid"},
                            {"-g", "gpid"},
                            {"--type", "type"},
                            {"-p", "type"},
                            {"--from", "from"},
                            {"-f", "from"},
                            {"--to", "to"},
                            {"-t", "to"}}});
  add("get_meta_level", "", "The meta server's level.", &Shell::GetMetaLevel, 0,
      0);
  add("set_meta_level", "<stopped|blind|freezed|steady|lively>",
      "Sets the meta server's level (lively runs the balancer).",
      &Shell::SetMetaLevel, 1, 1);
}

}  // namespace pegasus::shell
