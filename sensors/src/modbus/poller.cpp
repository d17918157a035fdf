#include "herd/sensors/modbus_poller.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "herd/core/logging.hpp"
#include "link.hpp"
#include "records.hpp"

namespace herd::sensors::modbus {

namespace {
using steady = std::chrono::steady_clock;

struct device_state {
  const device* dev = nullptr;
  std::vector<block> plan;
  std::vector<std::optional<record_key>> seen;  // per record: what was last handed to the sink
  steady::time_point next_due;
  std::chrono::milliseconds backoff{0};
  failure state = failure::none;               // of the last poll, for once-per-change logging
  std::uint64_t failed_run = 0;                // consecutive failed polls
  bool sink_failing = false;
  device_stats st;                             // guarded by impl::stats_mu
};
}  // namespace

struct poller::impl {
  options opts;
  const core::clock& clock;
  std::function<void(const poll_event&)> observer;
  std::shared_ptr<spdlog::logger> log = core::module_logger("modbus");
  reading_sink* sink = nullptr;

  std::mutex mu;  // stopping + wakes sleeping workers
  std::condition_variable cv;
  bool stopping = false;
  std::atomic<bool> stop_requested{false};  // read between the requests of a cycle
  mutable std::mutex stats_mu;
  std::vector<std::unique_ptr<device_state>> devices;

  struct worker {
    std::optional<link> lk;
    bool rtu = false;
    std::chrono::microseconds gap{0};
    steady::time_point last_frame_end{};
    std::vector<device_state*> devices;
    std::thread th;
  };
  std::vector<std::unique_ptr<worker>> workers;

  impl(options o, const core::clock& c, std::function<void(const poll_event&)> obs)
      : opts(std::move(o)), clock(c), observer(std::move(obs)) {}

  // Sleeps until `t` or a stop; true when stopping.
  bool sleep_until(steady::time_point t) {
    // Due already (a device polled back to back): no condition-variable wait, which costs a
    // futex call and a wake-up even when its deadline has passed.
    if (steady::now() >= t) return stop_requested.load();
    std::unique_lock lock(mu);
    return cv.wait_until(lock, t, [&] { return stopping; });
  }

  void count(device_state& d, failure f, const std::string& why) {
    std::lock_guard lock(stats_mu);
    auto& s = d.st;
    switch (f) {
      case failure::connect: ++s.fail_connect; break;
      case failure::timeout: ++s.fail_timeout; break;
      case failure::crc: ++s.fail_crc; break;
      case failure::exception: ++s.fail_exception; break;
      case failure::bad_data: ++s.fail_bad_data; break;
      case failure::io: ++s.fail_io; break;
      case failure::none: break;
    }
    s.last_error = std::string(to_string(f)) + ": " + why;
  }

  // One request, with the bus's gap before it; a CRC error or a garbled answer (a stray frame
  // on the line, noise) is retried once at once: the line is flushed and the unit likely fine.
  failure request(worker& w, device_state& d, const block& b, std::vector<std::uint16_t>& out,
                  std::string& why) {
    failure f = failure::none;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (w.rtu) {
        const auto ready = w.last_frame_end + w.gap;
        if (steady::now() < ready) std::this_thread::sleep_until(ready);
      }
      {
        std::lock_guard lock(stats_mu);
        ++d.st.requests;
      }
      f = w.lk->read(b, d.dev->unit_id, d.dev->response_timeout, out, why);
      w.last_frame_end = steady::now();
      if (f == failure::none) return f;
      count(d, f, why);
      if ((f != failure::crc && f != failure::bad_data) || !w.lk->is_open()) return f;
    }
    return f;
  }

  void poll(worker& w, device_state& d) {
    const device& dev = *d.dev;
    const auto started = steady::now();
    failure f = failure::none;
    std::string why;
    if (!w.lk->is_open()) {
      f = w.lk->open(dev.response_timeout, why);
      if (f != failure::none) count(d, f, why);
    }
    register_view view;
    if (f == failure::none) {
      std::vector<std::uint16_t> values;
      for (const block& b : d.plan) {
        // A stop does not wait for the rest of a long cycle (many blocks x a dead unit's timeout).
        if (stop_requested.load()) return;
        f = request(w, d, b, values, why);
        if (f != failure::none) break;
        view.put(b, std::move(values));
      }
    }
    const auto finished = steady::now();
    const std::int64_t wall = clock.now_ms();
    {
      std::lock_guard lock(stats_mu);
      ++d.st.polls;
      if (f == failure::none) {
        ++d.st.polls_ok;
        d.st.last_latency_ms = std::chrono::duration<double, std::milli>(finished - started).count();
        d.st.latency_sum_ms += d.st.last_latency_ms;
        d.st.last_success_ms = wall;
        d.st.failing_since_ms = 0;
        d.st.last_error.clear();
      } else if (d.st.failing_since_ms == 0) {
        d.st.failing_since_ms = wall;
      }
    }
    log_transition(d, f, why);
    if (f == failure::none) {
      emit(d, view, wall);
      d.backoff = std::chrono::milliseconds(0);
      // Keep the phase: a late cycle does not shift the ones after it; missed ones are skipped.
      d.next_due += dev.poll_interval;
      if (d.next_due <= finished) d.next_due = finished + dev.poll_interval;
    } else {
      d.backoff = d.backoff.count() == 0 ? opts.backoff_min : std::min(d.backoff * 2, opts.backoff_max);
      d.next_due = finished + std::max(dev.poll_interval, d.backoff);
    }
    if (observer) observer({dev.name, started, finished, f == failure::none});
  }

  void log_transition(device_state& d, failure f, const std::string& why) {
    const device& dev = *d.dev;
    if (f == failure::none) {
      if (d.state != failure::none) {
        log->info("modbus device '{}' answers again after {} failed poll(s)", dev.name, d.failed_run);
      }
      d.failed_run = 0;
    } else {
      ++d.failed_run;
      if (f != d.state) {
        log->warn("modbus device '{}' (unit {}): {} ({}); retrying with backoff up to {} ms",
                  dev.name, dev.unit_id, to_string(f), why, opts.backoff_max.count());
      }
    }
    d.state = f;
  }

  void emit(device_state& d, const register_view& view, std::int64_t wall) {
    const device& dev = *d.dev;
    std::uint64_t delivered = 0, unchanged = 0;
    bool failed = false;
    for (std::uint32_t r = 0; r < dev.records.count; ++r) {
      record_result rec = convert_record(dev, view, r, wall, d.seen[r]);
      if (rec.what == record_result::kind::empty) continue;
      if (rec.what == record_result::kind::unchanged) {
        ++unchanged;
        continue;
      }
      core::status st = core::ok_v;
      try {
        st = rec.what == record_result::kind::reading ? sink->on_reading(rec.raw, rec.value)
                                                      : sink->on_rejected(rec.raw, rec.reason);
      } catch (const std::exception& e) {
        st = core::error::retriable(std::string("exception while storing: ") + e.what());
      }
      if (!st) {
        // Not marked as seen: the next poll offers it again (the register may have moved on by
        // then; a base station keeps only the last reading of a collar, so that one is lost).
        if (!d.sink_failing) log->error("modbus device '{}': cannot store: {}", dev.name, st.err().message);
        d.sink_failing = failed = true;
        break;
      }
      d.seen[r] = rec.key;
      ++delivered;
    }
    if (!failed && d.sink_failing) {
      log->info("modbus device '{}': storing again", dev.name);
      d.sink_failing = false;
    }
    std::lock_guard lock(stats_mu);
    d.st.readings += delivered;
    d.st.unchanged += unchanged;
  }

  void run(worker& w) {
    for (;;) {
      auto it = std::min_element(w.devices.begin(), w.devices.end(),
                                 [](const device_state* a, const device_state* b) { return a->next_due < b->next_due; });
      if (sleep_until((*it)->next_due)) break;
      poll(w, **it);
    }
    w.lk->close();
  }
};

poller::poller(options opts, const core::clock& clock, std::function<void(const poll_event&)> observer)
    : impl_(std::make_unique<impl>(std::move(opts), clock, std::move(observer))) {}

poller::~poller() { stop(); }

core::status poller::start(reading_sink& sink) {
  auto& p = *impl_;
  if (!p.workers.empty()) return core::error::fatal("modbus poller already started");
  p.sink = &sink;
  std::map<std::string, impl::worker*> buses;  // serial device -> its worker
  const auto now = steady::now();
  for (const auto& dev : p.opts.devices) {
    auto d = std::make_unique<device_state>();
    d->dev = &dev;
    d->plan = plan_reads(dev, p.opts.merge_gap);
    d->seen.resize(dev.records.count);
    d->next_due = now;
    d->st.name = dev.name;
    d->st.unit_id = dev.unit_id;
    impl::worker* w = nullptr;
    if (dev.via == transport::rtu) {
      if (auto it = buses.find(dev.line.device); it != buses.end()) w = it->second;
    }
    if (w == nullptr) {
      auto nw = std::make_unique<impl::worker>();
      nw->rtu = dev.via == transport::rtu;
      nw->lk.emplace(nw->rtu ? link::rtu(dev.line) : link::tcp(dev.host, dev.port));
      nw->gap = p.opts.inter_frame_gap.count() > 0 ? p.opts.inter_frame_gap : frame_gap(dev.line);
      w = nw.get();
      if (nw->rtu) buses[dev.line.device] = w;
      p.workers.push_back(std::move(nw));
    }
    d->st.endpoint = w->lk->describe();
    w->devices.push_back(d.get());
    p.devices.push_back(std::move(d));
  }
  for (auto& w : p.workers) {
    auto* wp = w.get();
    w->th = std::thread([&p, wp] { p.run(*wp); });
  }
  p.log->info("polling {} modbus device(s) on {} connection(s)/bus(es)", p.devices.size(), p.workers.size());
  return core::ok_v;
}

void poller::stop() {
  auto& p = *impl_;
  p.stop_requested = true;
  {
    std::lock_guard lock(p.mu);
    p.stopping = true;
  }
  p.cv.notify_all();
  for (auto& w : p.workers) {
    if (w->th.joinable()) w->th.join();
  }
}

std::vector<device_stats> poller::stats() const {
  std::lock_guard lock(impl_->stats_mu);
  std::vector<device_stats> out;
  for (const auto& d : impl_->devices) out.push_back(d->st);
  return out;
}

}  // namespace herd::sensors::modbus
