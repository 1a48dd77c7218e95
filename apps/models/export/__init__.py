"""Export a model package to an ONNX package (issue 18): the ``export_onnx`` job kind and its
`POST /api/models/{id}/export-onnx/` shortcut."""
