// The umbrella header: includes every frugal module.
#pragma once

#include <frugal/allocation_meter.hpp>
#include <frugal/batch.hpp>
#include <frugal/builder.hpp>
#include <frugal/bytes.hpp>
#include <frugal/cache.hpp>
#include <frugal/cow_string.hpp>
#include <frugal/config.hpp>
#include <frugal/metrics.hpp>
#include <frugal/pool.hpp>
#include <frugal/shared_config.hpp>
#include <frugal/slice.hpp>
#include <frugal/small_vector.hpp>
#include <frugal/static_vector.hpp>
