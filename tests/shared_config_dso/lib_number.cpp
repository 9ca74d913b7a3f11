#include "api.hpp"

number_config* number_make(long v) { return new number_config(v); }
long number_read(const number_config& c) { return *c.read(); }
void number_destroy(number_config* c) { delete c; }
