#include "api.hpp"

text_config* text_make(const char* text) { return new text_config(text_version(text)); }
std::string text_read(const text_config& c) { return c.read()->text; }
std::string text_read_nested_with(const text_config& c, const number_config& n, long* number) {
  auto t = c.read();  // pins this library's slot for c
  *number = *n.read();
  return t->text;
}
text_config::guard text_read_while_pinned(const text_config& pinned, const text_config& c) {
  auto g = pinned.read();
  return c.read();
}
void text_store(text_config& c, const char* text) { c.store(text_version(text)); }
void text_destroy(text_config* c) { delete c; }
long text_live() { return text_version::live.load(); }
