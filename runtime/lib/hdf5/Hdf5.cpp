//===- Hdf5.cpp - HDF5 handles, errors, attributes and small datasets -----===//

#include "hdf5/Hdf5.h"

#include "s2s/runtime/Error.h"
#include "support/Text.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace s2s::rt::hdf5 {

void silenceHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

static herr_t walkError(unsigned, const H5E_error2_t *e, void *data) {
  auto *s = static_cast<std::string *>(data);
  if (e && e->desc && *e->desc)
    *s = e->desc; // walking downward: the last one is the innermost
  return 0;
}

std::string h5Reason() {
  std::string s;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walkError, &s);
  H5Eclear2(H5E_DEFAULT);
  if (s.empty())
    s = "the HDF5 library gave no reason";
  return s;
}

std::recursive_mutex &hdf5Mutex() {
  static std::recursive_mutex m;
  return m;
}

Hid openFile(const std::string &path, const char *what) {
  silenceHdf5();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(std::string("cannot open ") + what + " file " + inQuotes(path) +
                ": " + std::strerror(errno) +
                (std::string(what) == "data"
                     ? "; check the data section's source pattern"
                     : "; check the path"));
  if (S_ISDIR(st.st_mode))
    throw Error(std::string("cannot open ") + what + " file " + inQuotes(path) +
                ": it is a directory" +
                (std::string(what) == "data"
                     ? "; check the data section's source pattern"
                     : "; check the path"));
  if (::access(path.c_str(), R_OK) != 0)
    throw Error(std::string("cannot open ") + what + " file " + inQuotes(path) +
                ": " + std::strerror(errno) + "; check its permissions");
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0)
    throw Error(std::string("cannot open ") + what + " file " + inQuotes(path) +
                ": " + h5Reason() +
                " (not a complete HDF5 file: it may be truncated or corrupt; "
                "re-create or re-download it)");
  return Hid(f, H5Fclose);
}

static herr_t collectName(hid_t, const char *name, const H5L_info_t *,
                          void *data) {
  static_cast<std::vector<std::string> *>(data)->push_back(name);
  return 0;
}

void readFailure(const std::string &path, const std::string &what) {
  throw Error("file " + inQuotes(path) + ": cannot read " + what + ": " +
              h5Reason() +
              " (the file may be truncated or corrupt; re-create it)");
}

std::vector<std::string> rootNames(hid_t file, const std::string &path) {
  std::vector<std::string> names;
  hsize_t idx = 0;
  if (H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, &idx, collectName, &names) <
      0)
    readFailure(path, "the list of its datasets");
  return names;
}

bool linkExists(hid_t loc, const std::string &name, const std::string &path) {
  // H5Lexists fails (negative) when an intermediate group is missing, so
  // check the path one link at a time.
  std::string prefix;
  size_t at = 0;
  while (at <= name.size()) {
    size_t slash = name.find('/', at);
    if (slash == std::string::npos)
      slash = name.size();
    const std::string part = name.substr(at, slash - at);
    at = slash + 1;
    if (part.empty())
      continue;
    prefix += (prefix.empty() ? "" : "/") + part;
    const htri_t r = H5Lexists(loc, prefix.c_str(), H5P_DEFAULT);
    if (r < 0)
      readFailure(path, "link '" + prefix + "'");
    if (r == 0)
      return false;
  }
  return !prefix.empty();
}

std::string typeName(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  const std::string bits = std::to_string(size * 8);
  switch (cls) {
  case H5T_FLOAT:
    return "float" + bits;
  case H5T_INTEGER:
    return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + bits;
  case H5T_STRING:
    return "string";
  case H5T_COMPOUND:
    return "compound";
  case H5T_ENUM:
    return "enum";
  default:
    return "non-numeric";
  }
}

std::vector<hsize_t> extent(hid_t dataset) {
  Hid space(H5Dget_space(dataset), H5Sclose);
  if (!space.valid())
    return {};
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0)
    return {};
  std::vector<hsize_t> d(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), d.data(), nullptr);
  return d;
}

std::optional<std::vector<std::string>>
readStringsAttr(hid_t obj, const char *name, const std::string &where) {
  auto fail = [&]() -> Error {
    return Error(where + ": cannot read attribute '" + name + "': " +
                 h5Reason() + " (the file may be truncated or corrupt)");
  };
  const htri_t ex = H5Aexists(obj, name);
  if (ex < 0)
    throw fail();
  if (ex == 0)
    return std::nullopt;
  Hid attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  if (!attr.valid())
    throw fail();
  Hid type(H5Aget_type(attr.get()), H5Tclose);
  Hid space(H5Aget_space(attr.get()), H5Sclose);
  if (!type.valid() || !space.valid())
    throw fail();
  if (H5Tget_class(type.get()) != H5T_STRING)
    throw Error(where + ": attribute '" + name + "' holds " +
                typeName(type.get()) +
                " values; expected strings (one name per channel)");
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0)
    throw fail();
  std::vector<std::string> out;
  if (H5Tis_variable_str(type.get()) > 0) {
    Hid mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    std::vector<char *> buf(static_cast<size_t>(n), nullptr);
    if (H5Aread(attr.get(), mem.get(), buf.data()) < 0)
      throw fail();
    for (char *s : buf)
      out.emplace_back(s ? s : "");
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, buf.data());
  } else {
    const size_t size = H5Tget_size(type.get());
    Hid mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), size);
    H5Tset_strpad(mem.get(), H5T_STR_NULLPAD);
    std::vector<char> buf(static_cast<size_t>(n) * size + 1, '\0');
    if (H5Aread(attr.get(), mem.get(), buf.data()) < 0)
      throw fail();
    for (hssize_t i = 0; i < n; ++i) {
      const char *s = buf.data() + size_t(i) * size;
      std::string v(s, strnlen(s, size));
      while (!v.empty() && v.back() == ' ')
        v.pop_back();
      out.push_back(v);
    }
  }
  return out;
}

void writeStringsAttr(hid_t obj, const char *name,
                      const std::vector<std::string> &values) {
  Hid type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  const hsize_t n = values.size();
  Hid space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Hid attr(
      H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose);
  std::vector<const char *> ptrs;
  for (const auto &v : values)
    ptrs.push_back(v.c_str());
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), ptrs.data()) < 0)
    throw Error(std::string("cannot write attribute '") + name +
                "': " + h5Reason());
}

void writeStringAttr(hid_t obj, const char *name, const std::string &value) {
  Hid type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), value.size() + 1);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Hid space(H5Screate(H5S_SCALAR), H5Sclose);
  Hid attr(
      H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose);
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), value.c_str()) < 0)
    throw Error(std::string("cannot write attribute '") + name +
                "': " + h5Reason());
}

std::optional<std::vector<double>> readDoubles(hid_t file, const char *name,
                                               const std::string &path) {
  if (!linkExists(file, name, path))
    return std::nullopt;
  Hid ds(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  if (!ds.valid())
    readFailure(path, std::string("dataset '") + name + "'");
  const auto d = extent(ds.get());
  if (d.size() != 1)
    throw Error("file " + inQuotes(path) + ": dataset '" + name +
                "' has rank " + std::to_string(d.size()) +
                "; expected one value per entry");
  Hid type(H5Dget_type(ds.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER)
    throw Error("file " + inQuotes(path) + ": dataset '" + name + "' holds " +
                typeName(type.get()) + " values; expected numbers");
  std::vector<double> v(d[0]);
  if (!v.empty() && H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                            H5P_DEFAULT, v.data()) < 0)
    readFailure(path, std::string("dataset '") + name + "'");
  return v;
}

void writeDoubles(hid_t loc, const char *name, const std::vector<double> &v) {
  writeArray(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {hsize_t(v.size())},
             v.data());
}

void writeArray(hid_t loc, const char *name, hid_t fileType, hid_t memType,
                const std::vector<hsize_t> &dims, const void *data) {
  hsize_t n = 1;
  for (hsize_t d : dims)
    n *= d;
  Hid space(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose);
  Hid dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), false);
  Hid ds(H5Dcreate2(loc, name, fileType, space.get(), H5P_DEFAULT, dcpl.get(),
                    H5P_DEFAULT),
         H5Dclose);
  if (!ds.valid() || (n && H5Dwrite(ds.get(), memType, H5S_ALL, H5S_ALL,
                                    H5P_DEFAULT, data) < 0))
    throw Error(std::string("cannot write dataset '") + name +
                "': " + h5Reason());
}

std::optional<std::vector<std::string>>
statsChannels(hid_t file, const char *lo, const char *hi,
              const std::string &where) {
  std::optional<std::vector<std::string>> chans;
  for (const char *ds : {lo, hi}) {
    Hid d(H5Dopen2(file, ds, H5P_DEFAULT), H5Dclose);
    if (!d.valid())
      continue;
    chans = readStringsAttr(d.get(), "channels",
                            where + ", dataset '" + std::string(ds) + "'");
    if (chans)
      break;
  }
  H5Eclear2(H5E_DEFAULT);
  return chans;
}

} // namespace s2s::rt::hdf5
