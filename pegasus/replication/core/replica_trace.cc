#include "pegasus/replication/core/replica_trace.h"

#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "pegasus/base/status.h"

namespace pegasus::replication {
namespace {

template <typename T>
std::string List(const T& items) {
  return absl::StrCat("(", absl::StrJoin(items, ","), ")");
}

// A learner signature as ballot.sequence, the way OnAddLearner makes it.
std::string Sig(uint64_t signature) {
  return absl::StrCat(signature >> 24, ".", signature & 0xffffff);
}

std::string Strip(const std::string& name, absl::string_view prefix) {
  return std::string(absl::StripPrefix(name, prefix));
}

std::string ErrorName(proto::ReplicaError error) {
  return Strip(proto::ReplicaError_Name(error), "REPLICA_");
}

std::string MessageText(const proto::PrepareRequest& m) {
  std::string out = absl::StrCat(
      "prepare b=", m.mutation().ballot(), " d=", m.mutation().decree(),
      " lc=", m.mutation().last_committed(), " w=", m.mutation().writes_size());
  if (m.learner_signature() != 0) {
    absl::StrAppend(&out, " sig=", Sig(m.learner_signature()));
  }
  return out;
}

std::string MessageText(const proto::PrepareResponse& m) {
  if (m.error() == proto::REPLICA_OK) {
    return absl::StrCat("ack b=", m.mutation_ballot(), " d=", m.decree());
  }
  return absl::StrCat("nack b=", m.mutation_ballot(), " d=", m.decree(),
                      " err=", ErrorName(m.error()), " ballot=", m.ballot());
}

std::string MessageText(const proto::GroupCheckRequest& m) {
  std::string out = absl::StrCat("group-check b=", m.config().ballot(),
                                 " lc=", m.last_committed());
  if (m.learner_signature() != 0) {
    absl::StrAppend(&out, " sig=", Sig(m.learner_signature()));
  }
  return out;
}

std::string MessageText(const proto::GroupCheckResponse& m) {
  std::string out =
      absl::StrCat("group-check-reply b=", m.ballot(),
                   " lc=", m.last_committed(), " lp=", m.last_prepared());
  if (m.error() != proto::REPLICA_OK) {
    absl::StrAppend(&out, " err=", ErrorName(m.error()));
  }
  if (m.learner_status() != proto::LEARNER_NONE) {
    absl::StrAppend(
        &out, " learner=",
        Strip(proto::LearnerStatus_Name(m.learner_status()), "LEARNER_"));
  }
  return out;
}

std::string MessageText(const proto::LearnRequest& m) {
  return absl::StrCat("learn sig=", Sig(m.learner_signature()),
                      " applied=", m.last_applied(), " b=", m.ballot());
}

std::string MessageText(const proto::LearnResponse& m) {
  if (m.error() != proto::REPLICA_OK) {
    return absl::StrCat("learn-reply err=", ErrorName(m.error()),
                        " sig=", Sig(m.learner_signature()));
  }
  std::string out = absl::StrCat(
      "learn-reply ", Strip(proto::LearnType_Name(m.type()), "LEARN_"),
      " sig=", Sig(m.learner_signature()), " b=", m.config().ballot(),
      " muts=", DecreeRanges(m.mutations()), " lc=", m.last_committed(),
      " start=", m.prepare_start_decree());
  if (m.type() == proto::LEARN_APP) {
    absl::StrAppend(&out, " ckpt=", m.checkpoint_decree());
  }
  return out;
}

}  // namespace

std::string ConfigText(const proto::PartitionConfig& config) {
  return absl::StrCat("b=", config.ballot(), " p=", config.primary(),
                      " s=", List(config.secondaries()));
}

std::string CodeName(const absl::Status& status) {
  return std::string(ErrorCodeName(ToErrorCode(status)));
}

std::string MutationText(const proto::Mutation& m) {
  if (m.drops_tail()) {
    return absl::StrCat("b=", m.ballot(), " drop-tail d>=", m.decree());
  }
  return absl::StrCat("b=", m.ballot(), " d=", m.decree(),
                      " w=", m.writes_size());
}

std::string RecordText(const proto::Mutation& m) {
  return absl::StrCat(m.drops_tail() ? "drop>=d" : "d", m.decree(), "@b",
                      m.ballot());
}

std::string Keys(const proto::Mutation& m) {
  std::vector<std::string> keys;
  for (const proto::DataRequest& write : m.writes()) {
    keys.push_back(write.put().hash_key());
  }
  return List(keys);
}

std::string DecreeRanges(
    const google::protobuf::RepeatedPtrField<proto::Mutation>& mutations) {
  std::vector<std::string> ranges;
  for (int i = 0; i < mutations.size();) {
    int j = i;
    while (j + 1 < mutations.size() &&
           mutations[j + 1].decree() == mutations[j].decree() + 1) {
      ++j;
    }
    ranges.push_back(i == j ? absl::StrCat(mutations[i].decree())
                            : absl::StrCat(mutations[i].decree(), "..",
                                           mutations[j].decree()));
    i = j + 1;
  }
  return ranges.empty() ? "none" : absl::StrJoin(ranges, ",");
}

Decree MessageDecree(const PeerMessageBody& body) {
  if (auto* m = std::get_if<proto::PrepareRequest>(&body)) {
    return m->mutation().decree();
  }
  if (auto* m = std::get_if<proto::PrepareResponse>(&body)) return m->decree();
  return kNoDecree;
}

const char* MessageKind(const PeerMessageBody& body) {
  static const char* const kKinds[] = {"prepare",     "ack",
                                       "group-check", "group-check-reply",
                                       "learn",       "learn-reply"};
  return kKinds[body.index()];
}

std::string MessageLine(int from, int to, const PeerMessageBody& body) {
  return absl::StrCat(
      "n", from, "->n", to, " ",
      std::visit([](const auto& m) { return MessageText(m); }, body));
}

std::string ProposalText(const proto::ConfigUpdateRequest& request) {
  return absl::StrCat(Strip(proto::ConfigType_Name(request.type()), "CONFIG_"),
                      " node=", request.node(), " ",
                      ConfigText(request.config()));
}

std::vector<std::string> ReadyLines(int n, const Ready& ready) {
  std::vector<std::string> out;
  const std::string node = absl::StrCat("n", n);
  if (ready.persist_ballot != 0) {
    out.push_back(absl::StrCat(node, ": persist b=", ready.persist_ballot));
  }
  for (const LogAppend& append : ready.log_appends) {
    out.push_back(
        absl::StrCat(node, ": append ", MutationText(append.mutation)));
  }
  for (const PeerMessage& message : ready.messages) {
    out.push_back(MessageLine(n, int(message.to.value), message.body));
  }
  for (const proto::ConfigUpdateRequest& request : ready.meta_requests) {
    out.push_back(absl::StrCat(node, "->meta propose ", ProposalText(request)));
  }
  for (const InstallCheckpoint& install : ready.installs) {
    out.push_back(absl::StrCat(
        node, ": install checkpoint d=", install.checkpoint_decree));
  }
  for (const Apply& apply : ready.applies) {
    std::vector<std::string> clients;
    for (ClientToken client : apply.clients) {
      if (client != kNoClient) clients.push_back(absl::StrCat("c", client));
    }
    out.push_back(absl::StrCat(node, ": apply ", MutationText(apply.mutation),
                               clients.empty() ? "" : " ok=" + List(clients)));
  }
  for (const ServeRead& read : ready.reads) {
    out.push_back(absl::StrCat(node, ": c", read.client, " read ok"));
  }
  for (const ClientError& error : ready.errors) {
    out.push_back(absl::StrCat(node, ": c", error.client, " error ",
                               CodeName(error.status)));
  }
  for (const LearnFetch& fetch : ready.learn_fetches) {
    out.push_back(absl::StrCat(node, ": learn-fetch for n", fetch.learner.value,
                               " from d=", fetch.start_decree));
  }
  if (!ready.fatal.ok()) {
    out.push_back(absl::StrCat(node, ": fatal ", CodeName(ready.fatal)));
  }
  return out;
}

}  // namespace pegasus::replication
