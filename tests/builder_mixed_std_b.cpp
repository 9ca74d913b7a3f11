// The C++23 half of builder_mixed_std_a.cpp.
#include <frugal/builder.hpp>

#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

using join_fn = std::string (*)(const std::vector<std::string>&, std::string_view);

join_fn join_in_b() { return &frugal::str_join<const std::vector<std::string>&>; }
const std::type_info& builder_type_in_b() { return typeid(frugal::builder<std::string>); }
std::string numbered_in_b(const std::vector<int>& ids) { return frugal::str_join(ids, ","); }
long standard_of_b() { return static_cast<long>(__cplusplus); }
