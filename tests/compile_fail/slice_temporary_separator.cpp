// Must not compile with FRUGAL_EXPECT_COMPILE_ERROR: a split view keeps a view of its
// separator, which a temporary std::string would leave dangling before the first piece.
#include <frugal/slice.hpp>

#include <string>
#include <string_view>

int main() {
  const std::string_view text = "a::b";
  const std::string kept = "::";
  std::size_t n = 0;
#ifdef FRUGAL_EXPECT_COMPILE_ERROR
  for (auto piece : frugal::split(text, std::string("::"))) n += piece.size();
#else
  for (auto piece : frugal::split(text, kept)) n += piece.size();
#endif
  return static_cast<int>(n) - 2;
}
