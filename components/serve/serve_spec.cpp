// serve: the tool's declaration (flags, defaults, --help).
#include "serve.h"

namespace advkfp::serve {

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>(
          "serve",
          "Serve a model over KServe's Open Inference Protocol v2 (REST): GET /v2/health/live, "
          "/v2/health/ready, /v2, /v2/models/NAME[/versions/V][/ready], POST "
          "/v2/models/NAME[/versions/V]/infer with FP32 or UINT8 tensors, and Prometheus "
          "/metrics; with --grpc-port, the same protocol over gRPC (KServe's "
          "grpc_predict_v2.proto). Concurrent requests are batched. With a calibration or a "
          "reference set, "
          "every served input goes through detect-degradation's label-free detector in windows; "
          "after `consecutive` bad windows the inputs are saved as a dataset and --on-alarm runs. "
          "A newer model at --model is loaded beside the served one and swapped in between "
          "batches; one that fails to load is refused. SIGTERM or SIGINT: stop accepting, finish "
          "the requests in flight, exit 0.")
          .input("model", &Options::model, cli::types::kModel,
                 "A model folder, or a folder of <version>/ model folders (the highest version "
                 "is served); watched for newer models.")
          .param("model_name", &Options::model_name, "The model's name in the v2 URLs.")
          .param("host", &Options::host, "Address to listen on (0.0.0.0: every interface).")
          .param("port", &Options::port, "TCP port (0: any free port; see port_file).",
                 cli::in_range(0, 65535))
          .output_parameter("port_file", &Options::port_file, cli::types::kInteger,
                            "Write the port listened on here once the server is ready.", true)
          .param("grpc_port", &Options::grpc_port,
                 "TCP port of the v2 gRPC service inference.GRPCInferenceService (-1: no gRPC; "
                 "0: any free port, see grpc_port_file).",
                 cli::in_range(-1, 65535))
          .output_parameter("grpc_port_file", &Options::grpc_port_file, cli::types::kInteger,
                            "Write the gRPC port listened on here once the server is ready.", true)
          .param("http_threads", &Options::http_threads,
                 "Threads answering HTTP connections; as many gRPC calls are served at once.",
                 cli::at_least(1))
          .param("max_batch_size", &Options::max_batch_size,
                 "Images per forward pass of the dynamic batcher (1: no batching).",
                 cli::at_least(1))
          .param("max_batch_delay_ms", &Options::max_batch_delay_ms,
                 "How long the batcher waits after a request for more to join its batch.",
                 cli::in_range(0, 1000))
          .param("queue_size", &Options::queue_size,
                 "Requests waiting for the batcher; beyond it a request is answered 503.",
                 cli::at_least(1))
          .param("max_request_images", &Options::max_request_images,
                 "Images one inference request may hold (400 beyond).", cli::at_least(1))
          .param("max_body_bytes", &Options::max_body_bytes,
                 "Largest request body accepted (413 beyond).", cli::at_least(1024))
          .param("request_timeout_s", &Options::request_timeout_s,
                 "A request still queued after this long is answered 503.",
                 cli::in_range(0, 3600, true))
          .param("read_timeout_s", &Options::read_timeout_s,
                 "A client that sends nothing for this long is disconnected.",
                 cli::in_range(0, 3600, true))
          .param("watch_interval_s", &Options::watch_interval_s,
                 "Seconds between checks of --model for a newer model (0: never).",
                 cli::at_least(0))
          .input("gate_dataset", &Options::gate_dataset, cli::types::kDataset,
                 "A labelled canary set: a new model is swapped in only if its accuracy under "
                 "white-box FGSM at gate_epsilon on it is at least the served model's.",
                 true)
          .param("gate_epsilon", &Options::gate_epsilon, "gate_dataset: the FGSM budget.",
                 attacks::epsilon_range())
          .input("calibration", &Options::calibration, cli::types::kArtifact,
                 "detect-degradation's calibration of the served model: turns live detection on "
                 "(only for the model it was made for).",
                 true)
          .input("reference", &Options::reference, cli::types::kDataset,
                 "Clean held-out inputs: calibrate live detection on them for every model "
                 "loaded (the served one and each swapped in); labels unused.",
                 true)
          .param("fpr", &Options::fpr,
                 "reference: per-input false-positive rate of the thresholds.",
                 cli::in_range(0, 1, true, true))
          .param("squeeze_bits", &Options::squeeze_bits,
                 "reference: bit depth of the bit-reduction squeezer.", cli::in_range(1, 8))
          .param("calibration_shifts", &Options::calibration_shifts,
                 "reference: benign shifts that set the attack threshold (as detect-degradation).")
          .param("alpha", &Options::alpha, "Significance level of each window's tests.",
                 cli::in_range(0, 1, true, true))
          .param("window_size", &Options::window_size, "Served inputs per judged window.",
                 cli::at_least(10))
          .param("consecutive", &Options::consecutive,
                 "Bad windows in a row that raise the alarm (one alarm per run of bad windows).",
                 cli::at_least(1))
          .param("alarm_on", &Options::alarm_on,
                 "attack: a bad window is an attack verdict; degraded: any window that changed.",
                 {"attack", "degraded"})
          .param("windows_dir", &Options::windows_dir,
                 "Save the inputs of the windows that raised an alarm here, as an unlabelled "
                 "dataset folder (float32 IDX).")
          .param("on_alarm", &Options::on_alarm,
                 "Command run by /bin/sh on an alarm, the saved window as $1 (and "
                 "$ADVKFP_WINDOW, $ADVKFP_MODEL_DIR, $ADVKFP_MODEL_VERSION, $ADVKFP_ALARM_REASON); "
                 "one at a time; needs windows_dir.")
          .param("cooldown_s", &Options::cooldown_s,
                 "After the command finished, alarms do not start it again for this long.",
                 cli::at_least(0))
          .param("kfp_endpoint", &Options::kfp_endpoint,
                 "Instead of on_alarm: on an alarm, create a run on this Kubeflow Pipelines API "
                 "endpoint (http://HOST:PORT[/PREFIX]; POST /apis/v2beta1/runs) and follow it to "
                 "its end (one at a time, then cooldown_s); needs windows_dir and kfp_pipeline_id.")
          .param("kfp_pipeline_id", &Options::kfp_pipeline_id, "kfp_endpoint: the pipeline to run.")
          .param("kfp_pipeline_version_id", &Options::kfp_pipeline_version_id,
                 "kfp_endpoint: its version (empty: the latest).")
          .param("kfp_experiment_id", &Options::kfp_experiment_id,
                 "kfp_endpoint: the experiment of the run (empty: the endpoint's default).")
          .param("kfp_token_file", &Options::kfp_token_file,
                 "kfp_endpoint: a file holding the bearer token, read at each run (in a pod: "
                 "/var/run/secrets/kubeflow/pipelines/token); empty: no Authorization header.")
          .param("kfp_parameters", &Options::kfp_parameters,
                 "kfp_endpoint: the run's fixed parameters, a JSON object.")
          .param("kfp_window_parameter", &Options::kfp_window_parameter,
                 "kfp_endpoint: the parameter that gets the saved window's location.")
          .param("kfp_windows_uri", &Options::kfp_windows_uri,
                 "kfp_endpoint: where the pipeline sees windows_dir (e.g. minio://bucket/windows); "
                 "the window's location is this plus its folder's name (empty: its local path).")
          .param("kfp_poll_s", &Options::kfp_poll_s,
                 "kfp_endpoint: seconds between two GET /apis/v2beta1/runs/{run_id} of the run "
                 "being followed.",
                 cli::in_range(0, 3600, true))
          .param("batch_size", &Options::batch_size, "Inputs per forward pass of the detector.",
                 cli::at_least(1))
          .common()
          .loads_models();
  return s;
}

}  // namespace advkfp::serve
