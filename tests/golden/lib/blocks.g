# A module library imported by ../ok_import.g (and it imports another file).
import "more.g"
module MLPBlock(d, hidden) {
  fc1 = Linear(d, hidden)
  fc2 = Linear(hidden, d)
  act = Act()
  forward(x) { return x + fc2(act(fc1(x))) }
}
