# bytes: split, clone/drop and file reading against std::string, shared_ptr and absl::Cord.
frugal_add_bench(bytes absl::cord)
