// prepare-data: the component's declaration (flags, defaults, KFP interface), torch-free so the
// pipeline compiler links it without the run code.
#include "prepare_data.h"

namespace advkfp::prepare_data {

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>("prepare-data",
                         "Convert IDX files (default: Debian's Fashion-MNIST), NumPy arrays or "
                         "image folders into train and test dataset folders.")
          .param("source_uri", &Options::source_uri,
                 "Folder (path, file://, or gs://, s3://, minio:// as mounted by the KFP "
                 "launcher) holding, per split (train, test), one of: IDX "
                 "train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz]; train.npz/test.npz with "
                 "arrays images (or x) and labels (or y); train-images.npy/train-labels.npy and "
                 "test-...; or image folders train/<class>/*.png|jpg and test/<class>/... "
                 "Images uint8 or float32 in [0,1], [N,H,W], [N,H,W,C] or [N,C,H,W]; labels "
                 "integers. Empty: Fashion-MNIST from Debian's dataset-fashion-mnist.")
          .output("train_dataset", &Options::train_dataset, cli::types::kDataset,
                  "Training set folder.")
          .output("test_dataset", &Options::test_dataset, cli::types::kDataset,
                  "Test set folder.")
          .output("reference_dataset", &Options::reference_dataset, cli::types::kDataset,
                  "Clean held-out set for label-free detection: the last reference_size "
                  "training images, left out of train_dataset (omit: nothing held out).",
                  true)
          .output("metrics", &Options::metrics, cli::types::kMetrics,
                  "JSON: the source's format, the images written per output, seconds and "
                  "images/s (omit: none written).",
                  true)
          .param("reference_size", &Options::reference_size,
                 "Training images held out as the reference set when reference_dataset is given.",
                 cli::at_least(1))
          .param("class_names", &Options::class_names,
                 "Comma-separated class names in label order (empty: Fashion-MNIST's for IDX, "
                 "the sorted subfolder names for image folders, 0..K-1 for NumPy arrays).")
          .param("train_limit", &Options::train_limit, "Keep the first N training images (0: all).",
                 cli::at_least(0))
          .param("test_limit", &Options::test_limit, "Keep the first N test images (0: all).",
                 cli::at_least(0))
          .common(false);
  return s;
}

}  // namespace advkfp::prepare_data
