//===- Hdf5Common.h - HDF5 and calendar helpers of the data code -*- C++ -*-===//
//
// Private to libs2s_runtime and free of torch, so that the torch-free parts
// (NetCDF import) share them with the data reader (DataIO.h includes this).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_LIB_HDF5COMMON_H
#define S2S_RUNTIME_LIB_HDF5COMMON_H

#include <hdf5.h>

#include <cstdint>
#include <string>

namespace s2s::rt::data_detail {

/// An HDF5 identifier closed by its close function at scope exit.
class Hid {
public:
  using Closer = herr_t (*)(hid_t);
  Hid() = default;
  Hid(hid_t id, Closer close) : id_(id), close_(close) {}
  Hid(Hid &&o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Hid &operator=(Hid &&o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      close_ = o.close_;
      o.id_ = -1;
    }
    return *this;
  }
  Hid(const Hid &) = delete;
  Hid &operator=(const Hid &) = delete;
  ~Hid() { reset(); }
  void reset() {
    if (id_ >= 0 && close_)
      close_(id_);
    id_ = -1;
  }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

private:
  hid_t id_ = -1;
  Closer close_ = nullptr;
};

/// Turns off HDF5's printing of its error stack (we build our messages).
void silenceHdf5();
/// The innermost description on HDF5's error stack (then clears it).
std::string h5Reason();

/// Times (seconds since 1970-01-01 UTC).
int yearOf(int64_t t);
int64_t yearStart(int year);            ///< Jan 1 00:00 UTC of `year`
/// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d);
std::string formatTime(int64_t t);      ///< 2003-01-05T06:00

} // namespace s2s::rt::data_detail

#endif // S2S_RUNTIME_LIB_HDF5COMMON_H
