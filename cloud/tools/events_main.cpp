// herd-events: reads herd.events like any downstream consumer would and summarises it: per-animal
// counts, whether each animal's readings arrived in collar-sequence order (per collar: a collar
// moved to another animal starts its own sequence there), and a few envelopes
// decoded to JSON. Used by the demo; handy against a real cluster too (read-only, no group).
#include <CLI/CLI.hpp>
#include <google/protobuf/util/json_util.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include "herd/events/v1/collar_reading.pb.h"
#include "herd/events/v1/envelope.pb.h"
#include "herd/events/v1/scale_weight.pb.h"

namespace {

struct animal_stats {
  std::uint64_t events = 0;
  std::map<std::string, std::int64_t> last_seq;  // per collar the animal has worn
  std::uint64_t out_of_order = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Summarise the herd.events topic: per-animal counts, order, decoded envelopes"};
  std::string bootstrap;
  std::string topic = "herd.events";
  int show = 3;
  int idle_ms = 3000;
  std::uint64_t expect = 0;
  int timeout_s = 60;
  cli.add_option("-b,--bootstrap", bootstrap, "Kafka bootstrap servers")->required();
  cli.add_option("-t,--topic", topic, "topic")->capture_default_str();
  cli.add_option("--show", show, "envelopes to print as JSON")->capture_default_str();
  cli.add_option("--expect", expect, "wait for at least this many events");
  cli.add_option("--idle-ms", idle_ms, "stop after this long without new events")->capture_default_str();
  cli.add_option("--timeout-s", timeout_s, "give up after this long")->capture_default_str();
  CLI11_PARSE(cli, argc, argv);

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "herd-events-cli", err, sizeof err);  // required, unused
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    std::cerr << "kafka: " << err << "\n";
    return 1;
  }
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 ||
      md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::cerr << "kafka: no metadata for topic " << topic << "\n";
    return 1;
  }
  const int partitions = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);

  using clock = std::chrono::steady_clock;
  const auto give_up = clock::now() + std::chrono::seconds(timeout_s);
  auto last_event = clock::now();
  std::map<std::string, animal_stats> animals;
  std::uint64_t total = 0, undecodable = 0;
  std::map<std::string, std::uint64_t> clock_marks;  // gateway_clock_quality -> events
  std::map<std::string, std::uint64_t> types;        // event_type -> events
  google::protobuf::util::JsonPrintOptions json;
  json.add_whitespace = true;
  json.preserve_proto_field_names = true;
  while (clock::now() < give_up) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (m == nullptr) {
      if (total >= expect && clock::now() - last_event > std::chrono::milliseconds(idle_ms)) break;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      last_event = clock::now();
      ++total;
      herd::events::v1::EventEnvelope env;
      herd::events::v1::CollarReading reading;
      herd::events::v1::ScaleWeight weight;
      const bool parsed = env.ParseFromArray(m->payload, static_cast<int>(m->len));
      const bool is_weight = parsed && env.event_type() == "scale.weight.v1";
      if (!parsed || (is_weight ? !env.payload().UnpackTo(&weight) : !env.payload().UnpackTo(&reading))) {
        ++undecodable;
      } else {
        ++clock_marks[herd::events::v1::ClockQuality_Name(env.gateway_clock_quality())];
        const bool first_of_type = types[env.event_type()]++ == 0;
        auto& a = animals[env.aggregate_id()];
        ++a.events;
        // Order per animal: collar seqs per collar, weighing counters per scale.
        const auto [source, seq] = is_weight ? std::pair<std::string, std::int64_t>{"scale/" + weight.scale_id(),
                                                                                     static_cast<std::int64_t>(weight.weighing_seq())}
                                             : std::pair<std::string, std::int64_t>{reading.collar_id(), reading.collar_seq()};
        auto [last, first] = a.last_seq.emplace(source, seq);
        if (!first) {
          if (seq <= last->second) ++a.out_of_order;
          last->second = seq;
        }
        // The first `show` envelopes, and the first of every other event type.
        if (show > 0 || (first_of_type && types.size() > 1)) {
          if (show > 0) --show;
          std::string text;
          (void)google::protobuf::util::MessageToJsonString(env, &text, json);
          std::cout << "--- envelope (partition " << m->partition << ", offset " << m->offset << ", key "
                    << std::string(static_cast<const char*>(m->key), m->key_len) << ")\n"
                    << text;
        }
      }
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);

  std::uint64_t disorder = 0;
  std::cout << "\n=== " << topic << ": " << total << " events, " << animals.size() << " animals ===\n";
  std::cout << "animal_id        events  in_order\n";
  for (const auto& [id, a] : animals) {
    std::printf("%-16s %6llu  %s\n", id.c_str(), static_cast<unsigned long long>(a.events),
                a.out_of_order == 0 ? "yes" : "NO");
    disorder += a.out_of_order;
  }
  std::cout << "event types:";
  for (const auto& [type, n] : types) std::cout << " " << type << " " << n;
  std::cout << "\n";
  std::cout << "undecodable: " << undecodable << ", out of order: " << disorder << "\n";
  // How far the gateway clock could be trusted when it stamped them (envelope gateway_clock_quality).
  std::cout << "gateway clock:";
  for (const auto& [quality, n] : clock_marks) std::cout << " " << quality << " " << n;
  std::cout << "\n";
  return (total >= expect && undecodable == 0 && disorder == 0) ? 0 : 1;
}
