# mypy: ignore-errors
"""Rasterlab pixel classifier: a Python raster function for ArcGIS Pro's Classify Pixels Using
Deep Learning tool (the custom-model route of Esri's raster-deep-learning documentation).

Written by Rasterlab; no Esri code. Rasterlab copies it into pixel-classification packages whose
network arcgis.learn has no class for; the emd's InferenceFunction names it. Rasterlab never
imports or runs the copy inside a package. Needs numpy, torch and torchvision, and the
package's ModelConfiguration.py (which builds the network from the emd).

Each pixel block is one model chip (ImageHeight square, `padding` pixels of context on every
side); the block is normalised as in training, classified, cropped to its centre and written
as class Values (model output index 0 is NoData / background -> 0).
"""
import importlib.util
import json
import os
import sys

import numpy as np
import torch

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def _load_emd(model):
    """`model` is the path of the .emd or its JSON text."""
    if os.path.isfile(model):
        with open(model, encoding="utf-8-sig") as f:
            return json.load(f), os.path.dirname(os.path.abspath(model))
    return json.loads(model), os.getcwd()


def _configuration(folder, emd):
    path = os.path.join(folder, emd.get("ModelConfigurationFile", "ModelConfiguration.py"))
    spec = importlib.util.spec_from_file_location("rasterlab_model_configuration", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class RasterlabPixelClassifier:
    def __init__(self):
        self.name = "Rasterlab pixel classifier"
        self.description = "Classifies pixels with a model trained in Rasterlab"

    def initialize(self, **kwargs):
        self.emd, folder = _load_emd(kwargs["model"])
        device = int(kwargs.get("device", -1) or -1)
        self.device = torch.device(f"cuda:{device}" if device >= 0 and torch.cuda.is_available() else "cpu")
        self.network, _ = _configuration(folder, self.emd).build_network(self.emd)
        weights = os.path.join(folder, self.emd["ModelFile"])
        state = torch.load(weights, map_location="cpu", weights_only=True)
        if set(state) == {"model"} or set(state) == {"model", "opt"}:
            state = state["model"]
        self.network.load_state_dict(state)
        self.network.eval().to(self.device)
        bands = [b if isinstance(b, int) else i for i, b in enumerate(self.emd.get("ExtractBands") or [0, 1, 2])]
        stats = self.emd.get("NormalizationStats")
        if stats:
            pick = lambda key: np.array([stats[key][b] for b in bands], dtype=np.float32)  # noqa: E731
            self.low, self.high = pick("band_min_values"), pick("band_max_values")
            self.mean, self.std = pick("scaled_mean_values"), pick("scaled_std_values")
        else:
            self.low, self.high = np.zeros(len(bands), np.float32), np.full(len(bands), 255, np.float32)
            self.mean, self.std = IMAGENET_MEAN[: len(bands)], IMAGENET_STD[: len(bands)]
        self.values = np.array([0] + [int(c.get("Value", c.get("ClassValue"))) for c in self.emd["Classes"]])

    def getParameterInfo(self):
        size = int(self.emd["ImageHeight"])
        return [
            {"name": "raster", "dataType": "raster", "required": True, "displayName": "Raster",
             "description": "Input raster"},
            {"name": "model", "dataType": "string", "required": True, "displayName": "Model",
             "description": "The .emd of the package"},
            {"name": "device", "dataType": "numeric", "required": False, "value": -1,
             "displayName": "Device ID", "description": "GPU id, -1 for the CPU"},
            {"name": "padding", "dataType": "numeric", "required": False, "value": size // 4,
             "displayName": "Padding", "description": "Context pixels on each side of a tile"},
        ]

    def getConfiguration(self, **scalars):
        size = int(self.emd["ImageHeight"])
        self.padding = min(int(scalars.get("padding", size // 4)), size // 2 - 1)
        inner = size - 2 * self.padding
        return {"extractBands": tuple(self.emd.get("ExtractBands") or (0, 1, 2)),
                "padding": self.padding, "tx": inner, "ty": inner, "fixedTileSize": 1,
                "inheritProperties": 2 | 4 | 8, "invalidateProperties": 2 | 4 | 8,
                "inputMask": True}

    def updateRasterInfo(self, **kwargs):
        info = kwargs["output_info"]
        info["bandCount"] = 1
        info["pixelType"] = "u1" if self.values.max() < 256 else "i4"
        table = {"features": [{"attributes": {"OID": i + 1, "Value": c.get("Value"), "Class": c.get("Name"),
                                              "Red": (c.get("Color") or [0, 0, 0])[0],
                                              "Green": (c.get("Color") or [0, 0, 0])[1],
                                              "Blue": (c.get("Color") or [0, 0, 0])[2]}}
                              for i, c in enumerate(self.emd["Classes"])]}
        info["rasterAttributeTable"] = json.dumps(table)
        info["statistics"] = ()
        info["histogram"] = ()
        return kwargs

    def classify(self, pixels):
        """[bands, H, W] raw values -> [H, W] class Values."""
        x = pixels.astype(np.float32)
        span = np.maximum(self.high - self.low, 1e-6)
        x = ((x - self.low[:, None, None]) / span[:, None, None] - self.mean[:, None, None]) / self.std[:, None, None]
        with torch.no_grad():
            out = self.network(torch.from_numpy(x)[None].to(self.device))
            logits = out["out"] if isinstance(out, dict) else out
            if logits.shape[-2:] != x.shape[-2:]:
                logits = torch.nn.functional.interpolate(logits, size=x.shape[-2:], mode="bilinear",
                                                         align_corners=False)
            index = logits.argmax(1)[0].cpu().numpy()
        return self.values[index]

    def updatePixels(self, tlc, shape, props, **pixelBlocks):
        pixels = np.array(pixelBlocks["raster_pixels"], copy=True)
        mask = pixelBlocks.get("raster_mask")
        if mask is not None:
            pixels[mask == 0] = 0
        classes = self.classify(pixels)
        p = self.padding
        inner = classes[p: classes.shape[0] - p or None, p: classes.shape[1] - p or None]
        pixel_type = (props or {}).get("pixelType") or ("u1" if self.values.max() < 256 else "i4")
        pixelBlocks["output_pixels"] = inner[None].astype(pixel_type, copy=False)
        return pixelBlocks
