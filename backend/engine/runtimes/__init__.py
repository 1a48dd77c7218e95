"""Models of other frameworks behind the engine's predictor protocol (inference.protocols).

modelio.py      ModelIO from the .emd's "ModelIO" object / ONNX metadata / output names
predictor.py    RuntimePredictor: scaling, batching (one chip at a time when the model says so),
                detections / class probabilities / class indices from named outputs
onnx_model.py   check_onnx_file(path) (onnx.checker, standard operators, no external data),
                OnnxPredictor(path, emd, device) (.signature: inputs/outputs found in the file)
torchscript_model.py  TorchScriptPredictor(path, emd, device): only where an admin allows it
signature.py    ModelSignature/TensorInfo, check_input/check_outputs (fit to the .emd), dry_run
loader.py       load_runtime_model(model_dir, emd, device, allow_torchscript),
                load_any_predictor(...): ONNX / TorchScript / Rasterlab PyTorch
export.py       export_onnx_package(model_dir, emd, out_dir, name) -> ExportResult (agreement
                checked: tolerance(family), BOX_TOLERANCE), compare_predictors(a, b, chips)
"""
