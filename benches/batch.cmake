# batch: group_by against std::unordered_map and absl::flat_hash_map of vectors.
frugal_add_bench(batch absl::flat_hash_map)
