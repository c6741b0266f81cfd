//===- ForecastFile.cpp - A forecast as an HDF5 file ----------------------===//

#include "hdf5/ForecastFile.h"

#include "s2s/runtime/Error.h"

#include <algorithm>
#include <mutex>

namespace s2s::rt::hdf5 {

void ForecastWriter::fail(const std::string &what) const {
  throw Error("cannot write forecast '" + path_ + "': " + what +
              " (is the disk full or the folder not writable?)");
}

ForecastWriter::ForecastWriter(const std::string &path,
                               const ForecastMeta &meta)
    : path_(path), file_(path), leads_(meta.validTimes.size()),
      channels_(meta.channels.size()), lat_(meta.latitude.size()),
      lon_(meta.longitude.size()), written_(leads_, false) {
  if (meta.leadHours.size() != leads_)
    throw Error("internal error: forecast '" + path + "' has " +
                std::to_string(leads_) + " valid times and " +
                std::to_string(meta.leadHours.size()) + " lead hours");
  std::lock_guard<std::recursive_mutex> lock(hdf5Mutex());
  silenceHdf5();
  h5_ = Hid(H5Fcreate(file_.tempPath().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT,
                      H5P_DEFAULT),
            H5Fclose);
  if (!h5_.valid())
    fail("cannot create '" + file_.tempPath() + "': " + h5Reason());
  try {
    const hsize_t dims[4] = {leads_, channels_, lat_, lon_};
    const hsize_t chunk[4] = {1, std::max<hsize_t>(channels_, 1),
                              std::max<hsize_t>(lat_, 1),
                              std::max<hsize_t>(lon_, 1)};
    Hid space(H5Screate_simple(4, dims, nullptr), H5Sclose);
    Hid dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    if (leads_ > 0)
      H5Pset_chunk(dcpl.get(), 4, chunk);
    H5Pset_obj_track_times(dcpl.get(), false);
    forecast_ =
        Hid(H5Dcreate2(h5_.get(), "forecast", H5T_IEEE_F32LE, space.get(),
                       H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
            H5Dclose);
    if (!forecast_.valid())
      throw Error("cannot create dataset 'forecast': " + h5Reason());
    writeStringsAttr(forecast_.get(), "channels", meta.channels);
    writeStringAttr(forecast_.get(), "units",
                    "the data's own (de-normalised), per channel");
    writeArray(h5_.get(), "time", H5T_STD_I64LE, H5T_NATIVE_INT64, {leads_},
               meta.validTimes.data());
    writeDoubles(h5_.get(), "lead_hours", meta.leadHours);
    writeArray(h5_.get(), "init_time", H5T_STD_I64LE, H5T_NATIVE_INT64, {1},
               &meta.initTime);
    writeDoubles(h5_.get(), "lat", meta.latitude);
    writeDoubles(h5_.get(), "lon", meta.longitude);
    writeStringsAttr(h5_.get(), "channels", meta.channels);
    for (const auto &[k, v] : meta.attributes)
      writeStringAttr(h5_.get(), k.c_str(), v);
  } catch (const Error &e) {
    fail(e.what());
  }
}

void ForecastWriter::write(int64_t lead, const float *values) {
  if (lead < 0 || hsize_t(lead) >= leads_)
    throw Error("internal error: forecast '" + path_ + "' has no lead " +
                std::to_string(lead));
  std::lock_guard<std::recursive_mutex> lock(hdf5Mutex());
  const hsize_t start[4] = {hsize_t(lead), 0, 0, 0};
  const hsize_t one[4] = {1, channels_, lat_, lon_};
  Hid space(H5Dget_space(forecast_.get()), H5Sclose);
  Hid mem(H5Screate_simple(4, one, nullptr), H5Sclose);
  if (H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, one,
                          nullptr) < 0 ||
      H5Dwrite(forecast_.get(), H5T_NATIVE_FLOAT, mem.get(), space.get(),
               H5P_DEFAULT, values) < 0)
    fail("lead " + std::to_string(lead + 1) + ": " + h5Reason());
  written_[size_t(lead)] = true;
}

void ForecastWriter::finish() {
  std::lock_guard<std::recursive_mutex> lock(hdf5Mutex());
  for (size_t l = 0; l < written_.size(); ++l)
    if (!written_[l])
      throw Error("internal error: forecast '" + path_ + "' lacks lead " +
                  std::to_string(l + 1));
  const bool flushed = H5Fflush(h5_.get(), H5F_SCOPE_GLOBAL) >= 0;
  const bool closed = forecast_.close() && h5_.close();
  if (!flushed || !closed)
    fail(h5Reason());
  file_.commit();
}

} // namespace s2s::rt::hdf5
