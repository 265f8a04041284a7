#include "daemons/lib/metrics_util.h"

#include <utility>

namespace pegasus::daemons {

prometheus::MetricFamily Family(std::string name, std::string help,
                                prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

void AddSample(prometheus::MetricFamily& family, double value, Labels labels) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

void AddCounters(std::initializer_list<CounterFigure> figures, Families& out) {
  for (const CounterFigure& figure : figures) {
    out.push_back(
        Family(figure.name, figure.help, prometheus::MetricType::Counter));
    AddSample(out.back(), static_cast<double>(figure.value));
  }
}

void AddLinkFamilies(const net::GrpcTransportStats& links, Families& out) {
  AddCounters(
      {
          {"pegasus_link_messages_sent_total", "Messages sent to other nodes",
           links.messages_sent},
          {"pegasus_link_messages_received_total",
           "Messages received from other nodes", links.messages_received},
          {"pegasus_link_sent_bytes_total",
           "Bytes of messages sent to other nodes", links.bytes_sent},
          {"pegasus_link_received_bytes_total",
           "Bytes of messages received from other nodes", links.bytes_received},
          {"pegasus_link_frames_sent_total",
           "Frames (batches of messages) sent to other nodes",
           links.frames_sent},
          {"pegasus_link_messages_dropped_total",
           "Messages dropped: queue full, peer unreachable, stream broken",
           links.messages_dropped},
      },
      out);
}

}  // namespace pegasus::daemons
