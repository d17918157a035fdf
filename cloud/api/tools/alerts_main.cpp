// herd-alerts: the herd's active alerts and one animal's state, from herd-api (README, "CLI").
//   herd-alerts [--url URL] [--token-file F] [--json] [alerts] [--kind K] [--priority P] [--status S]
//   herd-alerts [--url URL] [--json] animal ID
// Exit status: 0 ok, 1 the API answered an error (printed), 2 the API is unreachable / bad usage.
#include <fmt/format.h>
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

namespace {

using json = nlohmann::ordered_json;

struct target {
  std::string scheme_host;  // "http://127.0.0.1:8090"
  std::string token;
};

// GET path; returns {status, body} or status -1 when unreachable.
std::pair<int, std::string> get(const target& t, const std::string& path) {
  httplib::Client c(t.scheme_host);
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(30, 0);
  httplib::Headers h;
  if (!t.token.empty()) h.emplace("Authorization", "Bearer " + t.token);
  auto r = c.Get(path, h);
  if (!r) return {-1, httplib::to_string(r.error())};
  return {r->status, r->body};
}

std::string cell(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string fit(std::string s, std::size_t w) {
  if (s.size() > w) s = s.substr(0, w - 1) + "~";
  return s;
}

int print_alerts(const json& j) {
  const auto& list = j.at("alerts");
  if (list.empty()) {
    std::cout << "no alerts\n";
    return 0;
  }
  std::cout << fmt::format("{:<9} {:<16} {:<18} {:<20} {:<4} {}\n", "PRIORITY", "ANIMAL", "KIND", "RAISED (UTC)", "ACK",
                           "EVIDENCE");
  for (const auto& a : list) {
    std::string raised = cell(a.value("raised_at", json(nullptr)));
    if (raised.size() >= 16) raised = raised.substr(0, 16);
    std::cout << fmt::format("{:<9} {:<16} {:<18} {:<20} {:<4} {}\n", cell(a["severity"]), fit(cell(a["animal_id"]), 16),
                             fit(cell(a["kind"]), 18), raised, a.value("acknowledged_at", json(nullptr)).is_null() ? "-" : "yes",
                             cell(a.value("evidence", json(""))));
  }
  std::cout << list.size() << " alert(s)\n";
  return 0;
}

int print_animal(const json& s) {
  std::cout << "animal " << cell(s["animal_id"]) << ", newest event " << cell(s["newest_event_at"]) << ", "
            << cell(s["events_applied"]) << " events\n";
  for (const char* k : {"body_temp_c", "activity_steps", "rumination_min", "battery_pct", "rssi_dbm"}) {
    const json& v = s["latest"][k];
    std::cout << fmt::format("  {:<16} {}\n", k, v.is_null() ? "-" : cell(v["value"]) + "  (" + cell(v["at"]) + ")");
  }
  for (const auto& [k, v] : s["baselines"].items()) {
    std::cout << fmt::format("  baseline {:<26} {}\n", k, v.is_null() ? "not enough history" : cell(v["value"]));
  }
  for (const auto& c : s["collars"]) {
    std::cout << fmt::format("  collar {} battery {}% rssi {} dBm last seen {}\n", cell(c["collar_id"]), cell(c["battery_pct"]),
                             cell(c["rssi_dbm"]), cell(c["last_seen"]));
  }
  const auto& alerts = s["active_alerts"];
  if (alerts.empty()) std::cout << "  no active alerts\n";
  for (const auto& a : alerts) {
    std::cout << fmt::format("  ALERT {} {} since {}: {}\n", cell(a["severity"]), cell(a["kind"]), cell(a["started_at"]),
                             cell(a["evidence"]));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"herd-alerts: the herd's active alerts and an animal's state, from herd-api"};
  std::string url = "http://127.0.0.1:8090";
  std::string token_file;
  bool as_json = false;
  cli.add_option("--url", url, "herd-api base URL")->capture_default_str();
  cli.add_option("--token-file", token_file, "file holding the bearer token (if reads need one)");
  cli.add_flag("--json", as_json, "print the API's JSON instead of a table");
  auto* al = cli.add_subcommand("alerts", "active alerts (default)");
  std::string kind, priority, status = "active";
  al->add_option("--kind", kind, "only this kind (fever, estrus, ...)");
  al->add_option("--priority", priority, "at least this priority (info, warning, critical)");
  al->add_option("--status", status, "active, recent or all")->capture_default_str();
  auto* an = cli.add_subcommand("animal", "one animal's current state");
  std::string animal;
  an->add_option("id", animal, "the animal id")->required();
  cli.require_subcommand(0, 1);
  CLI11_PARSE(cli, argc, argv);

  target t{url, ""};
  if (!token_file.empty()) {
    std::ifstream f(token_file);
    if (!f || !std::getline(f, t.token)) {
      std::cerr << "herd-alerts: cannot read " << token_file << "\n";
      return 2;
    }
  }
  std::string path;
  if (an->parsed()) {
    path = "/api/v1/animals/" + httplib::detail::encode_query_param(animal);
  } else {
    path = "/api/v1/alerts?status=" + httplib::detail::encode_query_param(status) + "&limit=5000";
    if (!kind.empty()) path += "&kind=" + httplib::detail::encode_query_param(kind);
    if (!priority.empty()) path += "&priority=" + httplib::detail::encode_query_param(priority);
  }
  auto [code, body] = get(t, path);
  if (code < 0) {
    std::cerr << "herd-alerts: " << url << " unreachable: " << body << "\n";
    return 2;
  }
  const json j = json::parse(body, nullptr, false);
  if (code != 200 || j.is_discarded()) {
    std::cerr << "herd-alerts: HTTP " << code << ": " << (j.is_object() ? cell(j.value("error", json(body))) : body) << "\n";
    return 1;
  }
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  return an->parsed() ? print_animal(j) : print_alerts(j);
}
