// The dynamic batcher (see batcher.h).
#include "batcher.h"

#include <algorithm>

#include "common/log.h"

namespace advkfp::serve {

Batcher::Batcher(BatcherConfig config, ModelSlot& slot, BatchHook on_computed,
                 BatchHook on_answered)
    : config_(config),
      slot_(slot),
      on_computed_(std::move(on_computed)),
      on_answered_(std::move(on_answered)) {
  expected_ = config_.max_batch;
  worker_ = std::thread([this] { loop(); });
}

Batcher::~Batcher() { stop(); }

std::optional<std::future<BatchResult>> Batcher::submit(torch::Tensor images,
                                                        Clock::time_point deadline) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_ || static_cast<int64_t>(queue_.size()) >= config_.queue_capacity) return std::nullopt;
  Job job{std::move(images), deadline, {}};
  auto future = job.promise.get_future();
  queue_.push_back(std::move(job));
  ready_.notify_one();
  return future;
}

int64_t Batcher::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(queue_.size());
}

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Batcher::loop() {
  torch::NoGradGuard no_grad;  // thread-local: no autograd graph on this worker
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    // Wait up to max_delay after the first request for the images the last batch held (the
    // clients it answered are the likeliest to send next), so a lone client is not held for the
    // delay while a crowd still fills whole batches; the first batch waits for a full one.
    const auto until = Clock::now() + config_.max_delay;
    const auto images_queued = [this] {
      int64_t n = 0;
      for (const auto& j : queue_) n += j.images.size(0);
      return n;
    };
    if (config_.max_batch > 1) {
      ready_.wait_until(lock, until, [&] { return stopping_ || images_queued() >= expected_; });
    }
    // Take whole requests while they fit (a request larger than max_batch runs alone).
    std::vector<Job> batch;
    int64_t n = 0;
    while (!queue_.empty()) {
      const int64_t k = queue_.front().images.size(0);
      if (!batch.empty() && n + k > config_.max_batch) break;
      n += k;
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    expected_ = std::clamp<int64_t>(n, 1, config_.max_batch);
    lock.unlock();

    const auto now = Clock::now();
    std::vector<Job*> live;
    std::vector<torch::Tensor> parts;
    for (auto& j : batch) {
      if (j.deadline < now) {
        j.promise.set_value({{}, nullptr, 503, "timed out waiting in the queue"});
      } else {
        live.push_back(&j);
        parts.push_back(j.images);
      }
    }
    if (!live.empty()) {
      const auto model = slot_.get();  // the swap point: one model per batch
      try {
        const auto images = parts.size() == 1 ? parts[0] : torch::cat(parts, 0);
        const auto logits = model->net.forward(images);
        if (on_computed_) on_computed_(images, logits, model);
        int64_t row = 0;
        for (auto* j : live) {
          const int64_t k = j->images.size(0);
          j->promise.set_value({logits.narrow(0, row, k), model, 200, ""});
          row += k;
        }
        if (on_answered_) on_answered_(images, logits, model);
      } catch (const std::exception& e) {
        log::error("inference failed on a batch of ", n, " images: ", e.what());
        for (auto* j : live) {
          try {
            j->promise.set_value({{}, model, 500, "inference failed"});
          } catch (const std::future_error&) {
          }
        }
      }
    }
    lock.lock();
  }
}

}  // namespace advkfp::serve
