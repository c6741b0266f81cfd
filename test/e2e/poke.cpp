//===- poke.cpp - Overwrite one value of a data file (tests only)
//----------===//
//
//   s2s-test-poke FILE CHANNEL_INDEX TIME_INDEX VALUE   (VALUE may be nan)
//
// The end-to-end tests use it to put a NaN into a synthetic data set and
// check the training program's message. Not installed.
//
//===----------------------------------------------------------------------===//

#include <hdf5.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char **argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: s2s-test-poke FILE CHANNEL TIME VALUE\n");
    return 2;
  }
  hid_t f = H5Fopen(argv[1], H5F_ACC_RDWR, H5P_DEFAULT);
  if (f < 0)
    return 1;
  hid_t d = H5Dopen2(f, "fields", H5P_DEFAULT);
  hid_t space = H5Dget_space(d);
  hsize_t start[4] = {std::strtoull(argv[3], nullptr, 10),
                      std::strtoull(argv[2], nullptr, 10), 0, 0};
  hsize_t count[4] = {1, 1, 1, 1};
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
  hid_t mem = H5Screate_simple(4, count, nullptr);
  float v = std::strtof(argv[4], nullptr);
  herr_t rc = H5Dwrite(d, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, &v);
  H5Sclose(mem);
  H5Sclose(space);
  H5Dclose(d);
  H5Fclose(f);
  return rc < 0 ? 1 : 0;
}
