// The start-up floor of every advkfp CLI: a program that loads LibTorch and does nothing else.
// Debian's libtorch_cpu needs ~290 shared libraries (OpenCV, FFmpeg, GDAL... for Caffe2 operators
// no CLI calls), and loading them, relocating them and running their constructors (LibTorch's
// operator registration among them) happens before main(). bench/speed/run times this program
// from exec to exit beside each CLI's start-up, so the part a CLI can change is visible.
#include <ATen/Parallel.h>

int main() { return at::get_num_threads() > 0 ? 0 : 1; }
