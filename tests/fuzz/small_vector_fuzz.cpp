// libFuzzer target: interprets the input as a sequence of operations, applies each to a
// small_vector and to a std::vector, and aborts when they disagree. Elements are strings (not
// trivially relocatable, heap-owning when long) so that leaks and double frees show under
// AddressSanitizer, plus an int vector to cover the bytewise fast paths.
#include <frugal/small_vector.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct reader {
  const std::uint8_t* p;
  std::size_t n;
  bool empty() const { return n == 0; }
  std::uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
};

template <class V, class R>
void check(const V& v, const R& ref) {
  if (v.size() != ref.size() || !std::equal(v.begin(), v.end(), ref.begin())) std::abort();
  if (v.size() > v.capacity()) std::abort();
  if (v.is_inline() && v.capacity() != v.inline_capacity()) std::abort();
}

template <class T>
T make(std::uint8_t b);
template <>
std::string make<std::string>(std::uint8_t b) {
  return std::string(b % 40, static_cast<char>('a' + b % 26));  // > 15 chars: heap-owning
}
template <>
int make<int>(std::uint8_t b) {
  return b;
}

template <class T>
void run(reader in) {
  frugal::small_vector<T, 3> v, w;
  frugal::small_vector<T, 6> x;  // another N, reached through small_vector_base
  std::vector<T> rv, rw, rx;
  frugal::small_vector_base<T>& bv = v;
  frugal::small_vector_base<T>& bx = x;
  while (!in.empty()) {
    const std::uint8_t op = in.byte();
    const std::uint8_t arg = in.byte();
    const std::size_t size = rv.size();
    const std::size_t at = size == 0 ? 0 : arg % (size + 1);
    switch (op % 23) {
      case 0:
        v.push_back(make<T>(arg));
        rv.push_back(make<T>(arg));
        break;
      case 1:
        if (size) {
          v.pop_back();
          rv.pop_back();
        }
        break;
      case 2:
        v.insert(v.begin() + static_cast<std::ptrdiff_t>(at), make<T>(arg));
        rv.insert(rv.begin() + static_cast<std::ptrdiff_t>(at), make<T>(arg));
        break;
      case 3:
        v.insert(v.begin() + static_cast<std::ptrdiff_t>(at), arg % 7u, make<T>(arg));
        rv.insert(rv.begin() + static_cast<std::ptrdiff_t>(at), arg % 7u, make<T>(arg));
        break;
      case 4:
        if (size) {
          const auto i = static_cast<std::ptrdiff_t>(arg % size);
          v.erase(v.begin() + i);
          rv.erase(rv.begin() + i);
        }
        break;
      case 5: {
        const auto hi = static_cast<std::ptrdiff_t>(at);
        v.erase(v.begin(), v.begin() + hi);
        rv.erase(rv.begin(), rv.begin() + hi);
        break;
      }
      case 6:
        v.resize(arg % 20u);
        rv.resize(arg % 20u);
        break;
      case 7:
        v.resize(arg % 20u, make<T>(arg));
        rv.resize(arg % 20u, make<T>(arg));
        break;
      case 8:
        v.reserve(arg % 40u);
        break;
      case 9:
        v.shrink_to_fit();
        break;
      case 10:
        v.clear();
        rv.clear();
        break;
      case 11:
        swap(v, w);
        std::swap(rv, rw);
        break;
      case 12:
        w = v;
        rw = rv;
        break;
      case 13:
        w = std::move(v);
        rw = std::move(rv);
        v.clear();
        rv.clear();
        break;
      case 14: {
        frugal::small_vector<T, 3> c(v);
        v = std::move(c);
        break;
      }
      case 15:
        if (size) {
          const std::size_t i = arg % size;
          v.push_back(v[i]);
          rv.push_back(rv[i]);
        }
        break;
      case 16:
        v.assign(arg % 9u, make<T>(arg));
        rv.assign(arg % 9u, make<T>(arg));
        break;
      case 17:
        v.emplace(v.begin() + static_cast<std::ptrdiff_t>(at), make<T>(arg));
        rv.emplace(rv.begin() + static_cast<std::ptrdiff_t>(at), make<T>(arg));
        break;
      case 18:
        bv.swap(bx);
        std::swap(rv, rx);
        break;
      case 19:
        if (arg % 2) {
          bx = std::move(bv);
          rx = std::move(rv);
          rv.clear();
        } else {
          bv = std::move(bx);
          rv = std::move(rx);
          rx.clear();
        }
        break;
      case 20: {
        std::vector<T> src(arg % 9u, make<T>(arg));
        std::vector<T> copy = src;
        v.insert(v.begin() + static_cast<std::ptrdiff_t>(at), std::make_move_iterator(src.begin()),
                 std::make_move_iterator(src.end()));
        rv.insert(rv.begin() + static_cast<std::ptrdiff_t>(at), copy.begin(), copy.end());
        break;
      }
      case 21: {  // a part of the vector itself
        // Each such insert may double the size: bounded, or a few hundred of them exhaust memory.
        if (size > 256) break;
        const auto from = static_cast<std::ptrdiff_t>(size == 0 ? 0 : arg % size);
        const std::vector<T> copy(rv.begin() + from, rv.end());
        v.insert(v.begin() + static_cast<std::ptrdiff_t>(at), v.begin() + from, v.end());
        rv.insert(rv.begin() + static_cast<std::ptrdiff_t>(at), copy.begin(), copy.end());
        break;
      }
      case 22:
        x.shrink_to_fit();
        x.push_back(make<T>(arg));
        rx.push_back(make<T>(arg));
        break;
    }
    check(x, rx);
    check(v, rv);
    check(w, rw);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  run<std::string>(reader{data, size});
  run<int>(reader{data, size});
  return 0;
}
