//===- FieldReader.cpp - Samples read straight from the files -------------===//

#include "hdf5/FieldReader.h"

#include "hdf5/Hdf5.h"
#include "hdf5/Samples.h"
#include "s2s/runtime/Error.h"
#include "support/Calendar.h"
#include "support/ParallelFor.h"

#include <fcntl.h>
#include <unistd.h>

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace s2s::rt::hdf5 {

namespace {
constexpr int64_t kUnknown = -1; ///< chunk address not looked up yet
constexpr int64_t kHdf5 = -2;    ///< chunk not readable directly
std::atomic<uint64_t> readerSerial{0};
} // namespace

struct FieldReader::Chunk {
  int64_t addr = kUnknown; ///< file offset, kUnknown or kHdf5
  int64_t size = 0;        ///< bytes stored (compressed, for deflate)
  unsigned mask = 0;       ///< filters skipped for this chunk (bit i: i-th)
};

struct FieldReader::File {
  // Under FieldReader's fdMutex():
  int fd = -1;
  std::vector<Chunk> chunks; ///< per chunk, filled as they are needed
  // Under hdf5Mutex():
  Hid h5file, h5ds;
  uint64_t lastUse = 0;
};

namespace {
/// fds and chunk tables of every reader (short critical sections only).
std::mutex &fdMutex() {
  static std::mutex m;
  return m;
}
} // namespace

FieldReader::FieldReader(const SampleRuns &plan, std::string field,
                         const Normalization *norm, std::atomic<int64_t> *bytes)
    : plan_(plan), field_(std::move(field)), bytes_(bytes),
      serial_(++readerSerial), hdf5Only_(hdf5ReadsForced()) {
  if (norm)
    norm_ = *norm;
  files_.resize(plan_.files.size());
  for (auto &f : files_)
    f = std::make_unique<File>();
}

FieldReader::~FieldReader() {
  {
    std::lock_guard<std::recursive_mutex> lock(hdf5Mutex());
    for (auto &f : files_) {
      f->h5ds.reset();
      f->h5file.reset();
    }
  }
  for (auto &f : files_)
    if (f->fd >= 0)
      ::close(f->fd);
}

int64_t FieldReader::loadThreads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return std::clamp<int64_t>(hw == 0 ? 1 : int64_t(hw), 1, 8);
}

bool hdf5ReadsForced() {
  const char *h = std::getenv("S2S_HDF5_READS");
  return h && *h && std::string(h) != "0";
}

const SampleRuns::Part &SampleRuns::partOf(int64_t g) const {
  auto it = std::upper_bound(parts.begin(), parts.end(), g,
                             [](int64_t v, const Part &p) { return v < p.at; });
  return *(it - 1);
}

FieldReader::File &FieldReader::file(size_t f) { return *files_[f]; }

hid_t FieldReader::dataset(size_t f) {
  File &fl = file(f);
  fl.lastUse = ++clock_;
  if (fl.h5ds.valid())
    return fl.h5ds.get();
  size_t open = 0, oldest = f;
  for (size_t i = 0; i < files_.size(); ++i)
    if (files_[i]->h5ds.valid()) {
      ++open;
      if (oldest == f || files_[i]->lastUse < files_[oldest]->lastUse)
        oldest = i;
    }
  if (open >= kMaxOpen) {
    files_[oldest]->h5ds.reset();
    files_[oldest]->h5file.reset();
  }
  const FileMeta &meta = plan_.files[f];
  fl.h5file = openFile(meta.path, "data");
  // No chunk cache: each frame is read once per request, and resident
  // memory must not grow with the number of files open.
  Hid dapl(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose);
  H5Pset_chunk_cache(dapl.get(), H5D_CHUNK_CACHE_NSLOTS_DEFAULT, 0,
                     H5D_CHUNK_CACHE_W0_DEFAULT);
  fl.h5ds =
      Hid(H5Dopen2(fl.h5file.get(), field_.c_str(), dapl.get()), H5Dclose);
  if (!fl.h5ds.valid()) {
    fl.h5file.reset();
    throw Error("file '" + meta.path + "': cannot read dataset '" + field_ +
                "': " + h5Reason() +
                " (the file may be truncated or corrupt; re-create it)");
  }
  return fl.h5ds.get();
}

FieldReader::Chunk FieldReader::chunkInfo(size_t f, int64_t t, int64_t c) {
  const FileMeta &m = plan_.files[f];
  const int64_t plane = m.nlat * m.nlon;
  const int64_t kt = m.chunk[0], kc = m.chunk[1];
  const int64_t nct = (m.nc + kc - 1) / kc;
  const size_t id = size_t((t / kt) * nct + c / kc);
  File &fl = file(f);
  {
    std::lock_guard<std::mutex> lock(fdMutex());
    if (fl.chunks.empty())
      fl.chunks.resize(size_t(((m.nt + kt - 1) / kt) * nct));
    if (fl.chunks[id].addr != kUnknown)
      return fl.chunks[id];
  }
  Chunk ch;
  ch.addr = kHdf5;
  {
    std::lock_guard<std::recursive_mutex> lock(hdf5Mutex());
    silenceHdf5();
    const hid_t ds = dataset(f);
    const hsize_t coord[4] = {hsize_t((t / kt) * kt), hsize_t((c / kc) * kc), 0,
                              0};
    unsigned mask = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t size = 0;
    const int64_t full = kt * kc * plane * int64_t(sizeof(float));
    if (H5Dget_chunk_info_by_coord(ds, coord, &mask, &addr, &size) >= 0 &&
        addr != HADDR_UNDEF && size > 0 &&
        (m.deflate || (int64_t(size) == full && mask == 0))) {
      ch.addr = int64_t(addr);
      ch.size = int64_t(size);
      ch.mask = mask;
    }
    H5Eclear2(H5E_DEFAULT);
  }
  std::lock_guard<std::mutex> lock(fdMutex());
  fl.chunks[id] = ch;
  return ch;
}

int64_t FieldReader::chunkOffset(size_t f, int64_t t, int64_t c) {
  const FileMeta &m = plan_.files[f];
  const int64_t plane = m.nlat * m.nlon;
  if (m.chunk.empty()) // contiguous
    return m.address + (t * m.nc + c) * plane * int64_t(sizeof(float));
  const int64_t kt = m.chunk[0], kc = m.chunk[1];
  const int64_t within =
      ((t % kt) * kc + c % kc) * plane * int64_t(sizeof(float));
  const Chunk ch = chunkInfo(f, t, c);
  return ch.addr < 0 ? kHdf5 : ch.addr + within;
}

int FieldReader::fdOf(size_t f) {
  const FileMeta &m = plan_.files[f];
  {
    std::lock_guard<std::mutex> lock(fdMutex());
    if (file(f).fd >= 0)
      return file(f).fd;
  }
  const int opened = ::open(m.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (opened < 0)
    throw Error("cannot open data file '" + m.path +
                "': " + std::strerror(errno) +
                (errno == EMFILE ? "; raise the limit of open files "
                                   "(ulimit -n)"
                                 : "; was it moved or deleted while "
                                   "training?"));
  std::lock_guard<std::mutex> lock(fdMutex());
  if (file(f).fd < 0)
    file(f).fd = opened;
  else
    ::close(opened);
  return file(f).fd;
}

namespace {
/// pread until `n` bytes are in or the file ends; the bytes read.
int64_t readFully(int fd, char *dst, int64_t n, int64_t off, int &err) {
  int64_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, dst + got, size_t(n - got), off_t(off + got));
    if (r < 0) {
      if (errno == EINTR)
        continue;
      err = errno;
      return got;
    }
    if (r == 0)
      break;
    got += r;
  }
  err = 0;
  return got;
}
} // namespace

void FieldReader::readDirect(size_t f, int64_t t0, int64_t n, float *out) {
  const FileMeta &m = plan_.files[f];
  const int64_t plane = m.nlat * m.nlon;
  const int64_t planeBytes = plane * int64_t(sizeof(float));
  const auto k = int64_t(plan_.chans.size());
  const int fd = fdOf(f);
  std::vector<int64_t> offs(static_cast<size_t>(k));
  for (int64_t t = t0; t < t0 + n; ++t) {
    bool ok = true;
    for (int64_t j = 0; j < k && ok; ++j) {
      offs[size_t(j)] = chunkOffset(f, t, plan_.chans[size_t(j)]);
      ok = offs[size_t(j)] >= 0;
    }
    float *dst = out + (t - t0) * k * plane;
    if (!ok) { // an unallocated or odd chunk: HDF5 knows what it holds
      readHdf5(f, t, 1, dst);
      continue;
    }
    // Plane by plane, each checked and normalised right after its read,
    // while it is in cache (a plane of a 1-degree grid is 254 KiB; a whole
    // sample of many channels is not in L2 any more when its read ends).
    for (int64_t j = 0; j < k; ++j) {
      float *p = dst + j * plane;
      int err = 0;
      const int64_t got = readFully(fd, reinterpret_cast<char *>(p), planeBytes,
                                    offs[size_t(j)], err);
      if (got != planeBytes)
        throw Error("file '" + m.path + "': cannot read sample " +
                    std::to_string(t) + " (" + formatTime(m.times[size_t(t)]) +
                    ") of dataset '" + field_ + "': " +
                    (err ? std::string(std::strerror(err))
                         : "the file ends at byte " +
                               std::to_string(offs[size_t(j)] + got) +
                               ", before its " + std::to_string(planeBytes) +
                               " bytes at offset " +
                               std::to_string(offs[size_t(j)])) +
                    " (the file may be truncated or corrupt; re-create it)");
      finishPlane(m, t, j, p);
    }
    if (bytes_)
      *bytes_ += k * planeBytes;
  }
}

namespace {
/// (x - a) / b over n floats: the IEEE operations of Dataset's torch
/// sub_/div_, so the same bits. Built for AVX2 too where the CPU has it.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void normalizePlane(float *p, int64_t n, float a, float b) {
  for (int64_t i = 0; i < n; ++i)
    p[i] = (p[i] - a) / b;
}
} // namespace

void FieldReader::finishPlane(const FileMeta &m, int64_t t, int64_t j,
                              float *p) {
  const int64_t c = plan_.chans[size_t(j)];
  checkFinite(m, t, 1, {c}, p);
  if (norm_.apply)
    normalizePlane(p, m.nlat * m.nlon, static_cast<float>(norm_.a[size_t(j)]),
                   static_cast<float>(norm_.b[size_t(j)]));
}

void FieldReader::readHdf5(size_t f, int64_t t0, int64_t n, float *out) {
  const FileMeta &m = plan_.files[f];
  const auto k = int64_t(plan_.chans.size());
  const int64_t plane = m.nlat * m.nlon;
  {
    std::lock_guard<std::recursive_mutex> lock(hdf5Mutex());
    silenceHdf5(); // per thread where HDF5 keeps error stacks per thread
    readSamples(m, dataset(f), t0, n, plan_.chans, out, /*checkFinite=*/false);
  }
  if (bytes_)
    *bytes_ += n * k * plane * int64_t(sizeof(float));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t j = 0; j < k; ++j)
      finishPlane(m, t0 + t, j, out + (t * k + j) * plane);
}

namespace {
/// The last chunk a thread decompressed, so that reads of the samples and
/// channels it holds decompress it once. Keyed by the reader's serial
/// number (not its address, which a later reader may reuse).
struct ChunkCache {
  uint64_t reader = 0;
  size_t file = 0;
  int64_t chunk = -1;
  std::vector<unsigned char> packed, unpacked;
  std::vector<float> values;
};
thread_local ChunkCache tlsChunk;
} // namespace

const float *FieldReader::inflateChunk(size_t f, int64_t t, int64_t c) {
  const FileMeta &m = plan_.files[f];
  const int64_t plane = m.nlat * m.nlon;
  const int64_t kt = m.chunk[0], kc = m.chunk[1];
  const int64_t nct = (m.nc + kc - 1) / kc;
  const int64_t id = (t / kt) * nct + c / kc;
  ChunkCache &cc = tlsChunk;
  if (cc.reader == serial_ && cc.file == f && cc.chunk == id)
    return cc.values.data();
  const Chunk ch = chunkInfo(f, t, c);
  if (ch.addr < 0)
    return nullptr;
  const int64_t full = kt * kc * plane * int64_t(sizeof(float));
  auto fail = [&](const std::string &why) {
    return Error("file '" + m.path + "': cannot read sample " +
                 std::to_string(t) + " (" + formatTime(m.times[size_t(t)]) +
                 ") of dataset '" + field_ + "': its chunk at offset " +
                 std::to_string(ch.addr) + " (" + std::to_string(ch.size) +
                 " bytes stored) " + why +
                 " (the file may be truncated or corrupt; re-create it)");
  };
  cc.chunk = -1; // until the chunk below is complete
  cc.packed.resize(size_t(ch.size));
  int err = 0;
  const int64_t got =
      readFully(fdOf(f), reinterpret_cast<char *>(cc.packed.data()), ch.size,
                ch.addr, err);
  if (got != ch.size)
    throw fail(err ? std::string("cannot be read: ") + std::strerror(err)
                   : "is cut short: the file ends at byte " +
                         std::to_string(ch.addr + got));
  // Undo the pipeline last filter first: deflate, then shuffle; a filter
  // whose mask bit is set was skipped for this chunk when it was written.
  const bool shuffled =
      m.shuffleFilter >= 0 && !(ch.mask & (1u << m.shuffleFilter));
  cc.values.resize(size_t(full) / sizeof(float));
  auto *out = reinterpret_cast<unsigned char *>(cc.values.data());
  const std::vector<unsigned char> *bytes = &cc.packed;
  if (!(ch.mask & (1u << m.deflateFilter))) {
    // Straight into the values unless the shuffle is still to be undone.
    if (shuffled)
      cc.unpacked.resize(size_t(full));
    unsigned char *to = shuffled ? cc.unpacked.data() : out;
    uLongf len = uLongf(full);
    const int rc = ::uncompress(to, &len, cc.packed.data(), uLong(ch.size));
    if (rc != Z_OK || int64_t(len) != full)
      throw fail(rc == Z_OK ? "inflates to " + std::to_string(len) +
                                  " bytes, not " + std::to_string(full)
                            : std::string("does not inflate (zlib: ") +
                                  (rc == Z_DATA_ERROR ? "corrupt data"
                                   : rc == Z_BUF_ERROR
                                       ? "more data than the chunk holds"
                                       : "error " + std::to_string(rc)) +
                                  ")");
    bytes = shuffled ? &cc.unpacked : nullptr;
  } else if (ch.size != full) {
    throw fail("holds " + std::to_string(ch.size) + " bytes, not " +
               std::to_string(full));
  }
  if (!bytes) {
    // inflated into the values already
  } else if (shuffled) {
    // HDF5's shuffle: byte b of every element, then byte b + 1, ...
    const size_t n = cc.values.size();
    const unsigned char *in = bytes->data();
    for (size_t b = 0; b < sizeof(float); ++b)
      for (size_t i = 0; i < n; ++i)
        out[i * sizeof(float) + b] = in[b * n + i];
  } else {
    std::memcpy(out, bytes->data(), size_t(full));
  }
  cc.reader = serial_;
  cc.file = f;
  cc.chunk = id;
  return cc.values.data();
}

void FieldReader::readDeflate(size_t f, int64_t t0, int64_t n, float *out) {
  const FileMeta &m = plan_.files[f];
  const int64_t plane = m.nlat * m.nlon;
  const auto k = int64_t(plan_.chans.size());
  const int64_t kt = m.chunk[0], kc = m.chunk[1];
  for (int64_t t = t0; t < t0 + n; ++t) {
    float *dst = out + (t - t0) * k * plane;
    for (int64_t j = 0; j < k; ++j) {
      const int64_t c = plan_.chans[size_t(j)];
      const float *chunk = inflateChunk(f, t, c);
      if (!chunk) { // not allocated (fill values) or odd: HDF5
        readHdf5(f, t, 1, dst);
        break;
      }
      float *p = dst + j * plane;
      std::memcpy(p, chunk + ((t % kt) * kc + c % kc) * plane,
                  size_t(plane) * sizeof(float));
      finishPlane(m, t, j, p);
      if (bytes_)
        *bytes_ += plane * int64_t(sizeof(float));
    }
  }
}

ExternalSamples::~ExternalSamples() = default;

void FieldReader::readExternal(size_t f, int64_t t0, int64_t n, float *out) {
  const FileMeta &m = plan_.files[f];
  const auto k = int64_t(plan_.chans.size());
  const int64_t plane = m.nlat * m.nlon;
  plan_.external->read(f, t0, n, plan_.chans, out);
  if (bytes_)
    *bytes_ += n * k * plane * int64_t(sizeof(float));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t j = 0; j < k; ++j)
      finishPlane(m, t0 + t, j, out + (t * k + j) * plane);
}

void FieldReader::readPart(const SampleRuns::Part &part, int64_t t0, int64_t n,
                           float *out) {
  const FileMeta &m = plan_.files[part.file];
  if (plan_.external)
    readExternal(part.file, t0, n, out);
  else if (hdf5Only_)
    readHdf5(part.file, t0, n, out);
  else if (m.rawFloat32)
    readDirect(part.file, t0, n, out);
  else if (m.deflate)
    readDeflate(part.file, t0, n, out);
  else
    readHdf5(part.file, t0, n, out);
}

void FieldReader::read(int64_t g, int64_t n, float *out) {
  const int64_t frame = plan_.frame();
  while (n > 0) {
    const SampleRuns::Part &part = plan_.partOf(g);
    const int64_t m = std::min(n, part.at + part.n - g);
    readPart(part, part.t0 + (g - part.at), m, out);
    g += m;
    n -= m;
    out += m * frame;
  }
}

void FieldReader::readAll(float *out, int64_t threads) {
  const int64_t frame = plan_.frame(), total = plan_.total;
  const int64_t block = std::max<int64_t>(
      1, (int64_t(8) << 20) / (frame * int64_t(sizeof(float))));
  // The first error in split order is the one thrown (parallelFor).
  parallelFor((total + block - 1) / block, threads, [&](int64_t b) {
    const int64_t g = b * block;
    read(g, std::min(block, total - g), out + g * frame);
  });
}

} // namespace s2s::rt::hdf5
