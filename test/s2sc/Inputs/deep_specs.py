# deep_specs.py DIR - writes into DIR the specs of limits-deep.test: each
# deeper or larger than a bound of the compiler (nesting, imports, rollout
# order, unrolled operations), too big to commit (a chain of 20,000 files).
import os
import sys

out = sys.argv[1]
DATA = 'data d { source = hdf5("d/*.h5"); channels = [u]; grid = [8, 16] }\n'
SECTIONS = ('rollout { order = 1; loss = mse() }\n'
            'train { optimizer = sgd(lr = 0.1); epochs = 1; batch = 2 }\n')


def spec(name, body, model='return x'):
    with open(os.path.join(out, name), 'w') as f:
        f.write(DATA + body)
        f.write('model M() { forward(x: tensor) { %s } }\n' % model)
        f.write('model net = M()\n' + SECTIONS)


def block(i, body):
    return 'block B%d() { forward(x: tensor) { %s } }\n' % (i, body)


# 10,000 constants, each defined from the one before, in either order.
chain = ['let a0 = 1\n'] + ['let a%d = a%d + 1\n' % (i, i - 1)
                            for i in range(1, 10000)]
spec('lets.s2s', ''.join(chain), 'return x * a9999')
spec('lets-reversed.s2s', ''.join(reversed(chain)), 'return x * a9999')

# 5,000 blocks, each calling the one before, in either order.
blocks = [block(0, 'return x')] + [block(i, 'return B%d(x)' % (i - 1))
                                   for i in range(1, 5000)]
spec('blocks.s2s', ''.join(blocks), 'return B4999(x)')
spec('blocks-reversed.s2s', ''.join(reversed(blocks)), 'return B4999(x)')

# 40 blocks, each calling the one before twice: 2^40 operations unrolled.
doubling = [block(0, 'return x * 2.0')] + [
    block(i, 'return B%d(B%d(x))' % (i - 1, i - 1)) for i in range(1, 40)]
spec('blocks-doubling.s2s', ''.join(doubling), 'return B39(x)')

# 10^10 operations from two nested repeats.
spec('repeat-nested.s2s', '',
     'repeat 100000 { repeat 100000 { x = x * 2.0 } } return x')

# 100,000 member accesses in a row, one tree 100,000 deep.
with open(os.path.join(out, 'suffixes.s2s'), 'w') as f:
    f.write('let r = {a: 1}\nlet deep = r' + '.a' * 100000 + '\n')

# Rollout orders the unrolled tableau cannot hold.
for name, order in [('order-huge.s2s', '1_000_000_000'),
                    ('order-10000.s2s', '10000')]:
    with open(os.path.join(out, name), 'w') as f:
        f.write(DATA + 'model M() { forward(x: tensor) { return x } }\n'
                'model net = M()\n'
                'rollout {\n  order = %s\n  loss = mse()\n}\n'
                'train { optimizer = sgd(lr = 0.1); epochs = 1; batch = 2 }\n'
                % order)

# A chain of 20,000 files, each importing the next.
os.makedirs(os.path.join(out, 'imports'), exist_ok=True)
for i in range(20000):
    with open(os.path.join(out, 'imports', 'i%d.s2s' % i), 'w') as f:
        if i + 1 < 20000:
            f.write('import "i%d.s2s"\n' % (i + 1))
        f.write('let v%d = %d\n' % (i, i))
