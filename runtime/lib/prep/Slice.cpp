//===- Slice.cpp - One channel at one time of a data file -----------------===//

#include "prep/Slice.h"

#include "hdf5/Hdf5.h"
#include "s2s/runtime/Error.h"
#include "support/Text.h"

namespace s2s::rt {

namespace {

using hdf5::Hid;

/// A 1-d coordinate of `n` values, or empty when absent or of another
/// length.
std::vector<double> coords(hid_t f, const char *name, int64_t n) {
  std::vector<double> v;
  if (H5Lexists(f, name, H5P_DEFAULT) <= 0)
    return v;
  Hid cd(H5Dopen2(f, name, H5P_DEFAULT), H5Dclose);
  Hid cs(H5Dget_space(cd.get()), H5Sclose);
  if (H5Sget_simple_extent_npoints(cs.get()) != n)
    return v;
  v.resize(static_cast<size_t>(n));
  if (H5Dread(cd.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
              v.data()) < 0)
    v.clear();
  return v;
}

} // namespace

FieldSlice readFieldSlice(const std::string &path, const std::string &field,
                          const std::string &channel, int64_t t) {
  hdf5::silenceHdf5();
  Hid f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!f.valid())
    throw Error("cannot open data file '" + path +
                "' (missing, or not an HDF5 file)");
  Hid d(H5Dopen2(f.get(), field.c_str(), H5P_DEFAULT), H5Dclose);
  if (!d.valid())
    throw Error("file '" + path + "' has no dataset '" + field + "'");
  Hid space(H5Dget_space(d.get()), H5Sclose);
  hsize_t dims[4] = {0, 0, 0, 0};
  if (H5Sget_simple_extent_ndims(space.get()) != 4)
    throw Error("'" + field + "' in '" + path +
                "' is not [time, channel, lat, lon]");
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  const std::vector<std::string> names =
      hdf5::readStringsAttr(d.get(), "channels",
                            "file '" + path + "', dataset '" + field + "'")
          .value_or(std::vector<std::string>());
  int64_t c = -1;
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == channel)
      c = static_cast<int64_t>(i);
  if (c < 0)
    throw Error("channel '" + channel + "' is not in file '" + path +
                "' (its channels: " + join(names) + ")");
  if (t < 0 || t >= static_cast<int64_t>(dims[0]))
    throw Error("time index " + std::to_string(t) + " is outside file '" +
                path + "' (0.." + std::to_string(dims[0] - 1) + ")");
  FieldSlice s;
  s.nlat = static_cast<int64_t>(dims[2]);
  s.nlon = static_cast<int64_t>(dims[3]);
  s.values.resize(static_cast<size_t>(s.nlat * s.nlon));
  const hsize_t start[4] = {static_cast<hsize_t>(t), static_cast<hsize_t>(c), 0,
                            0};
  const hsize_t count[4] = {1, 1, dims[2], dims[3]};
  H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count,
                      nullptr);
  Hid mem(H5Screate_simple(4, count, nullptr), H5Sclose);
  if (H5Dread(d.get(), H5T_NATIVE_FLOAT, mem.get(), space.get(), H5P_DEFAULT,
              s.values.data()) < 0)
    throw Error("cannot read channel '" + channel + "' at time index " +
                std::to_string(t) + " of '" + path +
                "' (truncated or corrupt?)");
  s.lat = coords(f.get(), "lat", s.nlat);
  s.lon = coords(f.get(), "lon", s.nlon);
  return s;
}

} // namespace s2s::rt
