//===- TorchFile.cpp - State dicts in torch.save's file format ------------===//

#include "io/TorchFile.h"

#include "s2s/runtime/Error.h"
#include "support/AtomicFile.h"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <unordered_map>

namespace s2s::rt {

namespace {

struct PyObj;
using Obj = std::shared_ptr<PyObj>;

/// A Python value as far as a state dict needs it.
struct PyObj {
  enum Kind {
    None,
    Bool,
    Int,
    Float,
    Str,
    Tuple,
    List,
    Dict,
    Global,
    Tensor,
    Storage,
    Mark,
    Other
  };
  Kind kind = None;
  int64_t i = 0;
  double f = 0;
  std::string s, name;    ///< Str: s; Global: module s, name
  std::vector<Obj> items; ///< Tuple, List
  std::vector<std::pair<Obj, Obj>> dict;
  torch::Tensor t; ///< Tensor; Storage: its elements, 1-d
};

Obj make(PyObj::Kind k) {
  auto o = std::make_shared<PyObj>();
  o->kind = k;
  return o;
}

/// torch.<X>Storage -> its element type.
torch::ScalarType storageType(const std::string &name, const std::string &at) {
  static const std::map<std::string, torch::ScalarType> types = {
      {"FloatStorage", torch::kFloat32}, {"DoubleStorage", torch::kFloat64},
      {"HalfStorage", torch::kFloat16},  {"BFloat16Storage", torch::kBFloat16},
      {"LongStorage", torch::kInt64},    {"IntStorage", torch::kInt32},
      {"ShortStorage", torch::kInt16},   {"CharStorage", torch::kInt8},
      {"ByteStorage", torch::kUInt8},    {"BoolStorage", torch::kBool}};
  auto it = types.find(name);
  if (it == types.end())
    throw Error(at + ": tensors stored as torch." + name +
                " are not supported (floating-point and integer storages "
                "are)");
  return it->second;
}

/// The pickle machine over one data.pkl.
class Unpickler {
public:
  Unpickler(caffe2::serialize::PyTorchStreamReader &zip, std::string path,
            const char *data, size_t size)
      : zip_(zip), path_(std::move(path)), p_(data), end_(data + size),
        begin_(data) {}
  Obj run();

private:
  [[noreturn]] void fail(const std::string &what) const {
    throw Error("'" + path_ + "': " + what + " (byte " +
                std::to_string(p_ - begin_) + " of its data.pkl); is it a " +
                "file torch.save wrote?");
  }
  const char *take(size_t n) {
    if (size_t(end_ - p_) < n)
      fail("the pickle ends early");
    const char *at = p_;
    p_ += n;
    return at;
  }
  uint64_t le(size_t n) {
    const unsigned char *b = reinterpret_cast<const unsigned char *>(take(n));
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k)
      v |= uint64_t(b[k]) << (8 * k);
    return v;
  }
  std::string line() {
    const char *nl =
        static_cast<const char *>(std::memchr(p_, '\n', end_ - p_));
    if (!nl)
      fail("a GLOBAL name has no end");
    std::string s(p_, nl);
    p_ = nl + 1;
    return s;
  }
  Obj pop() {
    if (stack_.empty())
      fail("the pickle pops an empty stack");
    Obj o = stack_.back();
    stack_.pop_back();
    return o;
  }
  std::vector<Obj> popMark() {
    size_t m = marks_.empty() ? size_t(-1) : marks_.back();
    if (m == size_t(-1) || m > stack_.size())
      fail("the pickle has no MARK");
    marks_.pop_back();
    std::vector<Obj> items(stack_.begin() + m, stack_.end());
    stack_.resize(m);
    return items;
  }
  Obj top() {
    if (stack_.empty())
      fail("the pickle reads an empty stack");
    return stack_.back();
  }
  Obj tuple(std::vector<Obj> items) {
    Obj o = make(PyObj::Tuple);
    o->items = std::move(items);
    return o;
  }
  Obj str(std::string s) {
    Obj o = make(PyObj::Str);
    o->s = std::move(s);
    return o;
  }
  Obj integer(int64_t v) {
    Obj o = make(PyObj::Int);
    o->i = v;
    return o;
  }
  void setItems(const Obj &d, std::vector<Obj> kv) {
    if (kv.size() % 2)
      fail("SETITEMS has an odd number of values");
    for (size_t k = 0; k < kv.size(); k += 2)
      if (d->kind == PyObj::Dict)
        d->dict.emplace_back(kv[k], kv[k + 1]);
  }
  Obj persistent(const Obj &pid);
  Obj call(const Obj &fn, const Obj &args);
  Obj rebuildTensor(const std::vector<Obj> &a);
  bool step(unsigned char op);

  caffe2::serialize::PyTorchStreamReader &zip_;
  std::string path_;
  const char *p_, *end_, *begin_;
  std::vector<Obj> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Obj> memo_;
  std::unordered_map<std::string, Obj> storages_;
};

Obj Unpickler::persistent(const Obj &pid) {
  const std::vector<Obj> &a = pid->items;
  if (pid->kind != PyObj::Tuple || a.size() != 5 || a[0]->s != "storage" ||
      a[1]->kind != PyObj::Global || a[2]->kind != PyObj::Str ||
      a[4]->kind != PyObj::Int)
    fail("a persistent id that is not a tensor storage");
  const std::string key = a[2]->s;
  if (auto it = storages_.find(key); it != storages_.end())
    return it->second;
  const torch::ScalarType type = storageType(a[1]->name, "'" + path_ + "'");
  const int64_t numel = a[4]->i;
  const std::string record = "data/" + key;
  if (!zip_.hasRecord(record))
    fail("storage '" + key + "' has no record " + record);
  auto [ptr, bytes] = zip_.getRecord(record);
  const size_t need = size_t(numel) * c10::elementSize(type);
  if (numel < 0 || bytes < need)
    fail("storage '" + key + "' holds " + std::to_string(bytes) +
         " bytes, fewer than its " + std::to_string(numel) + " elements");
  Obj s = make(PyObj::Storage);
  s->t = torch::empty({numel}, torch::TensorOptions().dtype(type));
  if (need)
    std::memcpy(s->t.data_ptr(), ptr.get(), need);
  storages_[key] = s;
  return s;
}

Obj Unpickler::rebuildTensor(const std::vector<Obj> &a) {
  // (storage, storage_offset, size, stride, requires_grad, hooks[, meta])
  if (a.size() < 4 || a[0]->kind != PyObj::Storage ||
      a[1]->kind != PyObj::Int || a[2]->kind != PyObj::Tuple ||
      a[3]->kind != PyObj::Tuple || a[2]->items.size() != a[3]->items.size())
    fail("a tensor whose storage, offset, size or stride is malformed");
  std::vector<int64_t> size, stride;
  int64_t last = a[1]->i; // the largest element index the view reaches
  bool empty = false;
  for (size_t d = 0; d < a[2]->items.size(); ++d) {
    const Obj &n = a[2]->items[d], &st = a[3]->items[d];
    if (n->kind != PyObj::Int || st->kind != PyObj::Int || n->i < 0 ||
        st->i < 0)
      fail("a tensor with a negative or non-integer size or stride");
    size.push_back(n->i);
    stride.push_back(st->i);
    empty = empty || n->i == 0;
    if (n->i > 0)
      last += (n->i - 1) * st->i;
  }
  const int64_t numel = a[0]->t.numel();
  if (a[1]->i < 0 || (!empty && last >= numel))
    fail("a tensor reaches element " + std::to_string(last) +
         " of a storage of " + std::to_string(numel));
  Obj t = make(PyObj::Tensor);
  t->t = a[0]->t.as_strided(size, stride, a[1]->i);
  return t;
}

Obj Unpickler::call(const Obj &fn, const Obj &args) {
  const std::vector<Obj> &a = args->items;
  if (fn->kind == PyObj::Global) {
    const std::string &m = fn->s, &n = fn->name;
    if (m == "collections" && n == "OrderedDict")
      return make(PyObj::Dict);
    if (m == "torch._utils" && n == "_rebuild_tensor_v2")
      return rebuildTensor(a);
    if (m == "torch._utils" &&
        (n == "_rebuild_parameter" || n == "_rebuild_parameter_with_state") &&
        !a.empty() && a[0]->kind == PyObj::Tensor)
      return a[0];
    // LibTorch's pickler (torch::pickle_save) tags typed containers.
    if (m == "torch.jit._pickle" && n == "restore_type_tag" && !a.empty())
      return a[0];
    if (m == "torch._tensor" && n == "_rebuild_from_type_v2" && a.size() >= 3 &&
        a[2]->kind == PyObj::Tuple)
      return call(a[0], a[2]);
  }
  return make(PyObj::Other);
}

/// One opcode; false at STOP.
bool Unpickler::step(unsigned char op) {
  switch (op) {
  case 0x80:
    take(1);
    break; // PROTO
  case 0x95:
    take(8);
    break; // FRAME
  case '.':
    return false; // STOP
  case '(':
    marks_.push_back(stack_.size());
    break;
  case '}':
    stack_.push_back(make(PyObj::Dict));
    break;
  case ']':
    stack_.push_back(make(PyObj::List));
    break;
  case ')':
    stack_.push_back(tuple({}));
    break;
  case 't':
    stack_.push_back(tuple(popMark()));
    break;
  case 0x85: {
    Obj a = pop();
    stack_.push_back(tuple({a}));
    break;
  }
  case 0x86: {
    Obj b = pop(), a = pop();
    stack_.push_back(tuple({a, b}));
    break;
  }
  case 0x87: {
    Obj c = pop(), b = pop(), a = pop();
    stack_.push_back(tuple({a, b, c}));
    break;
  }
  case 'N':
    stack_.push_back(make(PyObj::None));
    break;
  case 0x88:
  case 0x89: {
    Obj b = make(PyObj::Bool);
    b->i = op == 0x88;
    stack_.push_back(b);
    break;
  }
  case 'K':
    stack_.push_back(integer(int64_t(le(1))));
    break;
  case 'M':
    stack_.push_back(integer(int64_t(le(2))));
    break;
  case 'J':
    stack_.push_back(integer(int64_t(int32_t(uint32_t(le(4))))));
    break;
  case 0x8a: { // LONG1: n little-endian two's-complement bytes
    size_t n = size_t(le(1));
    if (n > 8)
      fail("an integer wider than 64 bits");
    uint64_t v = n ? le(n) : 0;
    if (n && n < 8 && (v >> (8 * n - 1)) & 1)
      v |= ~uint64_t(0) << (8 * n);
    stack_.push_back(integer(int64_t(v)));
    break;
  }
  case 'G': { // BINFLOAT: big-endian double
    const unsigned char *b = reinterpret_cast<const unsigned char *>(take(8));
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k)
      v = (v << 8) | b[k];
    Obj f = make(PyObj::Float);
    std::memcpy(&f->f, &v, 8);
    stack_.push_back(f);
    break;
  }
  case 'X': {
    size_t n = size_t(le(4));
    stack_.push_back(str(std::string(take(n), n)));
    break;
  }
  case 0x8c: {
    size_t n = size_t(le(1));
    stack_.push_back(str(std::string(take(n), n)));
    break;
  }
  case 0x8d: {
    size_t n = size_t(le(8));
    stack_.push_back(str(std::string(take(n), n)));
    break;
  }
  case 'T':
  case 'B': {
    size_t n = size_t(le(4));
    stack_.push_back(str(std::string(take(n), n)));
    break;
  }
  case 'U':
  case 'C': {
    size_t n = size_t(le(1));
    stack_.push_back(str(std::string(take(n), n)));
    break;
  }
  case 'c': {
    Obj g = make(PyObj::Global);
    g->s = line();
    g->name = line();
    stack_.push_back(g);
    break;
  }
  case 0x93: { // STACK_GLOBAL
    Obj n = pop(), m = pop();
    Obj g = make(PyObj::Global);
    g->s = m->s;
    g->name = n->s;
    stack_.push_back(g);
    break;
  }
  case 'Q': {
    Obj pid = pop();
    stack_.push_back(persistent(pid));
    break;
  }
  case 'R': {
    Obj args = pop(), fn = pop();
    stack_.push_back(call(fn, args));
    break;
  }
  case 0x81: {
    pop();
    pop();
    stack_.push_back(make(PyObj::Other));
    break;
  } // NEWOBJ
  case 'b':
    pop();
    break; // BUILD: an object's state, not needed
  case 'q':
    memo_[le(1)] = top();
    break;
  case 'r':
    memo_[le(4)] = top();
    break;
  case 0x94:
    memo_[memo_.size()] = top();
    break;
  case 'h':
  case 'j': {
    auto it = memo_.find(le(op == 'h' ? 1 : 4));
    if (it == memo_.end())
      fail("a memo entry read before it was written");
    stack_.push_back(it->second);
    break;
  }
  case 's': {
    Obj v = pop(), k = pop();
    setItems(top(), {k, v});
    break;
  }
  case 'u': {
    std::vector<Obj> kv = popMark();
    setItems(top(), std::move(kv));
    break;
  }
  case 'a': {
    Obj v = pop();
    top()->items.push_back(v);
    break;
  }
  case 'e': {
    std::vector<Obj> v = popMark();
    Obj l = top();
    l->items.insert(l->items.end(), v.begin(), v.end());
    break;
  }
  default: {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", op);
    fail(std::string("pickle opcode ") + hex + " is not supported");
  }
  }
  return true;
}

Obj Unpickler::run() {
  while (step(static_cast<unsigned char>(*take(1)))) {
  }
  if (stack_.size() != 1)
    fail("the pickle ends with " + std::to_string(stack_.size()) +
         " values on its stack, not one");
  return stack_.back();
}

/// The string-keyed tensors of dict `d`, in order.
NamedTensors tensorsOf(const Obj &d) {
  NamedTensors out;
  if (d->kind != PyObj::Dict)
    return out;
  for (const auto &[k, v] : d->dict)
    if (k->kind == PyObj::Str && v->kind == PyObj::Tensor)
      out.emplace_back(k->s, v->t.contiguous());
  return out;
}

} // namespace

NamedTensors readTorchStateDict(const std::string &path, std::string *under) {
  if (!std::ifstream(path).good())
    throw Error("cannot read '" + path + "': no such file or no permission");
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> zip;
  try {
    zip = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error &) {
    throw Error("'" + path +
                "' is not a zip-format torch.save file (PyTorch "
                ">= 1.6 writes these by default; re-save an older file with "
                "torch.save(torch.load(f), f) in a current PyTorch)");
  }
  if (!zip->hasRecord("data.pkl"))
    throw Error("'" + path +
                "' is a zip archive without data.pkl: not a "
                "file torch.save wrote");
  auto [ptr, size] = zip->getRecord("data.pkl");
  Unpickler u(*zip, path, static_cast<const char *>(ptr.get()), size);
  const Obj top = u.run();
  if (under)
    under->clear();
  NamedTensors out = tensorsOf(top);
  if (!out.empty())
    return out;
  if (top->kind != PyObj::Dict)
    throw Error("'" + path + "' holds no dict of tensors (a state dict)");
  std::string keys;
  for (const char *key :
       {"model_state", "state_dict", "model", "module", "net"})
    for (const auto &[k, v] : top->dict)
      if (k->kind == PyObj::Str && k->s == key &&
          !(out = tensorsOf(v)).empty()) {
        if (under)
          *under = key;
        return out;
      }
  for (const auto &kv : top->dict)
    if (kv.first->kind == PyObj::Str)
      keys += (keys.empty() ? "" : ", ") + kv.first->s;
  throw Error("'" + path + "' holds a dict without tensors and none of its " +
              "entries (" + keys +
              ") is a state dict; looked for model_state, "
              "state_dict, model, module and net");
}

void writeTorchStateDict(const std::string &path, const NamedTensors &tensors) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto &[name, t] : tensors)
    dict.insert(name, t.detach().to(torch::kCPU).contiguous());
  const std::vector<char> bytes = torch::pickle_save(dict);
  writeFileAtomically(path, std::string(bytes.begin(), bytes.end()),
                      "PyTorch state dict");
}

} // namespace s2s::rt
