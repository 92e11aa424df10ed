"""Your model: a preset or any transformers architecture, analysed without running it (parameters,
FLOPs, training memory), and its fit and speed on every catalog accelerator. The analysis runs in a
``python -m core analyze`` subprocess: this page never imports torch or transformers."""

import streamlit as st

from core.measure.models import PRESETS  # names and config values only: no torch, no transformers
from dashboard import charts, data, frames, pipeline, state

MODELS = (*PRESETS, "cnn/resnet50", "transformer/gpt2-small")

st.title("Your model")
st.caption("Pick a preset (config values from the model's published config.json) or type any transformers class as "
           "`hf:LlamaForCausalLM` with overrides such as `num_hidden_layers=16`. It trains one step on fake tensors "
           "(shapes, no data, no memory), so even a 70B model is analysed in seconds, here or on a laptop.")

if not data.torch_installed():
    st.info("The analysis runs where torch and transformers are installed (`pip install -r requirements.txt`): "
            "this viewer has neither. Run it there with `python -m core analyze --model gpt2-small --json`.")
    st.stop()

left, middle, right = st.columns(3)
options = list(dict.fromkeys([*MODELS, st.session_state[state.MODEL]]))
left.selectbox("Model", options, key=state.MODEL, accept_new_options=True,
               help="A preset, hf:<transformers model class>, or a built-in workload/size; type to add your own")
left.text_input("Config overrides", key=state.MODEL_CONFIG, placeholder="n_layer=24,n_embd=1024",
                help="transformers config fields, comma-separated key=value")
middle.number_input("Sequence length (tokens; 0 = the model's context, at most 2048)", min_value=0, step=128,
                    key=state.MODEL_SEQ)
middle.number_input("Batch per device", min_value=1, step=1, key=state.MODEL_BATCH)
right.selectbox("Precision", ["bf16", "fp16", "fp32", "tf32"], key=state.MODEL_PRECISION,
                help="bf16/fp16: mixed precision with fp32 weights, as the probe trains")
right.toggle("Activation checkpointing", key=state.MODEL_CHECKPOINTING,
             help="recompute activations in the backward (transformers' gradient checkpointing)")
state.save_query_params()

with st.spinner("Analysing on fake tensors…"):
    result = pipeline.analyze_model(st.session_state[state.MODEL], st.session_state[state.MODEL_CONFIG],
                                    int(st.session_state[state.MODEL_SEQ]), int(st.session_state[state.MODEL_BATCH]),
                                    st.session_state[state.MODEL_PRECISION],
                                    bool(st.session_state[state.MODEL_CHECKPOINTING]))
if "error" in result:
    st.error(f"Cannot analyse this model: {result['error']}")
    st.stop()

memory = result["memory_train_bytes"]
cards = st.columns(4)
params = result["params"]
cards[0].metric("Parameters", f"{params / 1e9:,.2f}B" if params >= 1e9 else f"{params / 1e6:,.1f}M")
cards[1].metric("GFLOP per training sample", f"{result['flops_per_sample'] / 1e9:,.1f}" if result["flops_per_sample"]
                else "–")
cards[2].metric("Training memory (estimated)", f"{memory['peak'] / 1e9:,.1f} GB")
devices = frames.model_devices_frame(result)
fitting = devices[devices["fits"] == True]  # noqa: E712 (a pandas mask)
cards[3].metric("Accelerators that hold it alone", f"{len(fitting)} of {len(devices)}")
seq = f", {result['seq']} tokens" if result.get("seq") else ""
cards[0].caption(f"{result['model']} · {result['kind']}{seq} · {result['source']}")
cards[2].caption(f"batch {result['batch']}, {result['precision']}, {result['optimizer']}"
                 + (", activation checkpointing" if result["checkpointing"] else ""))
for note in result.get("notes", []):
    st.warning(note)

st.plotly_chart(charts.memory_breakdown_chart(frames.memory_parts(memory), memory["peak"] / 1e9,
                                              "What holds the training step's memory"), theme=None)
st.caption(f"Saved activations at the end of the forward: {memory['activations'] / 1e9:,.2f} GB; half-precision "
           f"weight copies: {memory['weight_copies'] / 1e9:,.2f} GB. Method: {memory['method']}.")

st.subheader("On every accelerator")
st.dataframe(devices, hide_index=True, column_config={
    "memory_gb": st.column_config.NumberColumn("memory GB", format="%g"),
    "fits": st.column_config.CheckboxColumn("fits on one"),
    "devices_needed": st.column_config.NumberColumn("devices needed (ZeRO-3/FSDP)", format="%d"),
    "samples_per_s": st.column_config.NumberColumn("samples/s per device", format="%.3g"),
    "low": st.column_config.NumberColumn("low", format="%.3g"),
    "high": st.column_config.NumberColumn("high", format="%.3g"),
    "kind": "speed is", "note": "reason or caveat"})
st.caption("A device holds the step when the estimated peak fits in 90% of its memory. Devices needed: the weights, "
           "gradients and optimizer state sharded ZeRO-3/FSDP-style, each device keeping its own activations. Speed "
           "is **projected** from the reference family's measured and published points (ResNet-50 for image models) "
           "or **estimated** from its published MFU × the device's dense peak — see each row's note.")
