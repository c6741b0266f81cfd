//===- ForecastFile.cpp - A forecast as an HDF5 file ----------------------===//

#include "hdf5/ForecastFile.h"

#include "hdf5/Hdf5.h"
#include "s2s/runtime/Error.h"
#include "support/AtomicFile.h"

#include <mutex>

namespace s2s::rt::hdf5 {

void writeForecast(const std::string &path, const ForecastFile &f) {
  const hsize_t L = f.validTimes.size(), C = f.channels.size(),
                H = f.latitude.size(), W = f.longitude.size();
  if (f.leadHours.size() != L || f.values.size() != L * C * H * W)
    throw Error("internal error: forecast '" + path + "' has " +
                std::to_string(f.values.size()) + " values for " +
                std::to_string(L) + " leads, " + std::to_string(C) +
                " channels and a " + std::to_string(H) + "x" +
                std::to_string(W) + " grid");
  std::lock_guard<std::recursive_mutex> lock(hdf5Mutex());
  silenceHdf5();
  AtomicFile af(path);
  try {
    Hid file(H5Fcreate(af.tempPath().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT,
                       H5P_DEFAULT),
             H5Fclose);
    if (!file.valid())
      throw Error("cannot create '" + af.tempPath() + "': " + h5Reason());
    writeArray(file.get(), "forecast", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
               {L, C, H, W}, f.values.data());
    {
      Hid ds(H5Dopen2(file.get(), "forecast", H5P_DEFAULT), H5Dclose);
      writeStringsAttr(ds.get(), "channels", f.channels);
      writeStringAttr(ds.get(), "units",
                      "the data's own (de-normalised), per channel");
    }
    writeArray(file.get(), "time", H5T_STD_I64LE, H5T_NATIVE_INT64, {L},
               f.validTimes.data());
    writeDoubles(file.get(), "lead_hours", f.leadHours);
    writeArray(file.get(), "init_time", H5T_STD_I64LE, H5T_NATIVE_INT64, {1},
               &f.initTime);
    writeDoubles(file.get(), "lat", f.latitude);
    writeDoubles(file.get(), "lon", f.longitude);
    writeStringsAttr(file.get(), "channels", f.channels);
    for (const auto &[k, v] : f.attributes)
      writeStringAttr(file.get(), k.c_str(), v);
    if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0 || !file.close())
      throw Error(h5Reason());
  } catch (const Error &e) {
    throw Error("cannot write forecast '" + path + "': " + e.what() +
                " (is the disk full or the folder not writable?)");
  }
  af.commit();
}

} // namespace s2s::rt::hdf5
