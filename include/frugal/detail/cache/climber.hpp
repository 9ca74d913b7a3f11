// frugal::detail cache climber: sizes the admission window of frugal::cache's W-TinyLFU policy
// from the hit ratio the cache actually gets. Users never include this header directly.
//
// Why: a small window (1 % of the capacity) suits frequency-skewed workloads (Zipf, a scan
// over a popular set), where the sketch's admission test keeps the popular keys; a large
// window suits recency-heavy workloads (a key read a few times in a short burst, then rarely),
// where a newcomer must stay long enough to be hit again before it has any frequency to win
// admission with. No fixed split suits both, so the split is searched for at run time.
//
// How (hill climbing, the idea Caffeine uses; these rules and constants are frugal's):
// - The policy counts the requests of a sample (10 times the entries held, at least
//   `w_tinylfu::min_sample`): hits (a read of a linked entry) and misses (a new entry). At the
//   end of each sample it hands the sample's hit ratio and length to `on_sample`, which
//   returns the new window size.
// - The first sample sets the baseline and takes a first step, growing the window.
// - Later samples compare their hit ratio with the previous one's. A fall reverses the
//   direction and steps; a rise keeps the direction and steps; a change inside the noise band
//   (`noise_sigmas` standard deviations of the difference of two samples' ratios, which for a
//   sample of n requests at ratio p is sqrt(2 p (1 - p) / n)) shrinks the window by a quarter
//   step and points the search downwards. Following noise instead would walk the window far
//   from where it is good; drifting down, not holding, undoes an exploratory step that bought
//   nothing, because a window larger than needed costs more than one smaller than needed:
//   it pushes popular entries out of the main space, and they take long to win their place
//   back through the admission test.
// - The step starts at 1/16 (6.25 %) of the capacity and shrinks by 2 % each sample, so the
//   window settles instead of oscillating. A change of `restart_threshold` (5 points) or more
//   between two samples means the workload changed: the step returns to its initial size.
// - The window stays within [1, 80 % of the capacity] (by weight).
//
// The climber only does arithmetic at the sample boundary; it never allocates and never throws.
#pragma once

#include <frugal/detail/config.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

FRUGAL_BEGIN_NAMESPACE
namespace detail::cache {

/// Hill climbing over the admission window's size: see the file comment.
class window_climber {
 public:
  /// The first step (and the step after a restart), as a fraction of the capacity.
  static constexpr double initial_step_fraction = 0.0625;
  /// What the step is multiplied by after each sample.
  static constexpr double step_decay = 0.98;
  /// A hit-ratio change (absolute, 0..1) at least this big restarts the search.
  static constexpr double restart_threshold = 0.05;
  /// The largest window, as a fraction of the capacity.
  static constexpr double max_window_fraction = 0.8;
  /// A change of the hit ratio smaller than this many standard deviations of the difference
  /// of two samples' ratios (binomial, at the previous ratio) is taken for noise.
  static constexpr double noise_sigmas = 1.5;
  /// On a change inside the noise band the window shrinks by this fraction of the step.
  static constexpr double drift_fraction = 0.25;

  /// Starts a climb for a cache of `capacity` (by weight) whose window is now `window`.
  window_climber(std::uint64_t capacity, std::uint64_t window) noexcept
      : capacity_(capacity),
        max_window_(std::max(1.0, static_cast<double>(capacity) * max_window_fraction)),
        initial_step_(std::max(1.0, static_cast<double>(capacity) * initial_step_fraction)),
        step_(initial_step_),
        window_(clamp(static_cast<double>(window))) {}

  /// Takes the hit ratio (0..1) of the sample that just ended and returns the new window
  /// size, within [1, max_window()]. O(1), never allocates.
  std::uint64_t on_sample(double hit_ratio, std::uint64_t requests) noexcept {
    ++samples_;
    bool drift = false;
    if (samples_ > 1) {
      const double change = hit_ratio - previous_;
      const double p = std::clamp(previous_, 0.01, 0.99);
      const double n = static_cast<double>(std::max<std::uint64_t>(requests, 1));
      const double band = noise_sigmas * std::sqrt(2 * p * (1 - p) / n);
      restarted_ = change >= restart_threshold || change <= -restart_threshold;
      if (restarted_) step_ = initial_step_;
      if (change < -band) {
        direction_ = -direction_;
      } else if (change <= band) {
        drift = true;  // noise: no evidence either way
      }
    }
    previous_ = hit_ratio;
    if (drift) {
      direction_ = -1;
      window_ = clamp(window_ - drift_fraction * step_);
    } else {
      window_ = clamp(window_ + direction_ * step_);
    }
    step_ *= step_decay;
    return window();
  }

  /// Returns the window size the climber asks for now, by weight.
  std::uint64_t window() const noexcept {
    return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(window_ + 0.5));
  }
  /// Returns the size of the next step, by weight.
  double step() const noexcept { return step_; }
  /// Returns +1 while the window grows, -1 while it shrinks.
  int direction() const noexcept { return direction_ > 0 ? 1 : -1; }
  /// Returns true when the last sample restarted the search (a workload shift).
  bool restarted() const noexcept { return restarted_; }
  /// Returns the number of samples seen.
  std::uint64_t samples() const noexcept { return samples_; }
  /// Returns the largest window the climber asks for.
  std::uint64_t max_window() const noexcept { return static_cast<std::uint64_t>(max_window_); }
  std::uint64_t capacity() const noexcept { return capacity_; }

 private:
  double clamp(double w) const noexcept { return std::clamp(w, 1.0, max_window_); }

  std::uint64_t capacity_;
  double max_window_;
  double initial_step_;
  double step_;
  double window_;
  double previous_ = 0;
  double direction_ = 1;
  std::uint64_t samples_ = 0;
  bool restarted_ = false;
};

}  // namespace detail::cache
FRUGAL_END_NAMESPACE
