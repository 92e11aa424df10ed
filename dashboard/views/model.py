"""Your model: a preset or any transformers architecture, analysed without running it (parameters,
FLOPs, training memory), and its fit and speed on every catalog accelerator. The analysis runs in a
``python -m core analyze`` subprocess: this page never imports torch or transformers."""

import streamlit as st

from core.measure.models import PRESETS  # names and config values only: no torch, no transformers
from core.views import fit
from dashboard import charts, data, frames, pipeline, state, widgets
from dashboard.fmt import plain

MODELS = (*PRESETS, "cnn/resnet50", "transformer/gpt2-small")

st.title("Your model")
st.caption("Pick a preset (config values from the model's published config.json) or type any transformers class as "
           "`hf:LlamaForCausalLM` with overrides such as `num_hidden_layers=16`. It trains one step on fake tensors "
           "(shapes, no data, no memory), so even a 70B model is analysed in seconds, here or on a laptop.")

if not data.torch_installed():
    st.info("The analysis runs where torch and transformers are installed (`pip install -r requirements.txt`): "
            "this viewer has neither. Run it there with `python -m core analyze --model gpt2-small --json`.")
    st.stop()

PRECISIONS = ["bf16", "fp16", "fp32", "tf32"]
state.choose(state.MODEL_PRECISION, PRECISIONS, "bf16")
if int(st.session_state.get(state.MODEL_BATCH) or 0) < 1:
    state.choose(state.MODEL_BATCH, (), 1)  # at least one sample per device
sheets = widgets.settle_pricing()

left, middle, right = st.columns(3)
options = list(dict.fromkeys([*MODELS, st.session_state[state.MODEL]]))
left.selectbox("Model", options, key=state.MODEL, accept_new_options=True,
               help="A preset, hf:<transformers model class>, or a built-in workload/size; type to add your own")
left.text_input("Config overrides", key=state.MODEL_CONFIG, placeholder="n_layer=24,n_embd=1024",
                help="transformers config fields, comma-separated key=value")
middle.number_input("Sequence length (tokens; 0 = the model's context, at most 2048)", min_value=0, step=128,
                    key=state.MODEL_SEQ)
middle.number_input("Batch per device", min_value=1, step=1, key=state.MODEL_BATCH)
right.selectbox("Precision", PRECISIONS, key=state.MODEL_PRECISION,
                help="bf16/fp16: mixed precision with fp32 weights, as the probe trains")
st.toggle("Activation checkpointing", key=state.MODEL_CHECKPOINTING,  # full width: its label does not wrap
          help="recompute activations in the backward (transformers' activation checkpointing)")
state.save_query_params()

with st.spinner("Analysing on fake tensors…"):
    result = pipeline.analyze_model(st.session_state[state.MODEL], st.session_state[state.MODEL_CONFIG],
                                    int(st.session_state[state.MODEL_SEQ]), int(st.session_state[state.MODEL_BATCH]),
                                    st.session_state[state.MODEL_PRECISION],
                                    bool(st.session_state[state.MODEL_CHECKPOINTING]))
if "error" in result:
    st.error(plain(f"Cannot analyse this model: {result['error']}"))
    st.stop()

memory = result["memory_train_bytes"]
cards = st.container(horizontal=True)  # bordered cards that wrap onto a second row on a narrow window
params = result["params"]
cards.metric("Parameters", f"{params / 1e9:,.2f}B" if params >= 1e9 else f"{params / 1e6:,.1f}M", border=True)
cards.metric("GFLOP per training sample", f"{result['flops_per_sample'] / 1e9:,.1f}" if result["flops_per_sample"]
             else "–", border=True)
cards.metric("Training memory (estimated)", f"{memory['peak'] / 1e9:,.1f} GB", border=True)
devices = frames.model_devices_frame(result)
fitting = devices[devices["fits"] == True]  # noqa: E712 (a pandas mask)
cards.metric("Accelerators that hold it alone", f"{len(fitting)} of {len(devices)}", border=True)
seq = f", {result['seq']} tokens" if result.get("seq") else ""
st.caption(plain(f"{result['model']} · {result['kind']}{seq} · {result['source']} · memory at batch {result['batch']}, "
                 f"{result['precision']}, {result['optimizer']}"
                 + (", activation checkpointing" if result["checkpointing"] else "")))
for note in result.get("notes", []):
    st.warning(plain(note))

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

st.subheader("Plan a training run")
tokens_per_sample = result.get("tokens_per_sample")  # core's rule (ModelAnalysis), as the CLI's --tokens uses
tokens = bool(tokens_per_sample)
left, middle, right = st.columns(3)
amount = left.number_input("Tokens to train on" if tokens else "Samples to train on (examples × epochs)", min_value=1,
                           step=1_000_000_000 if tokens else 1_000_000, key=state.RUN_AMOUNT)
middle.selectbox("Price sheet", list(sheets), key=state.SHEET, format_func=widgets.sheet_label)
right.toggle("Spot prices", key=state.SPOT)
samples = float(amount) / tokens_per_sample if tokens else float(amount)
intensity, intensity_label = pipeline.grid_intensity()
plans = fit.plan_run([fit.DeviceFit(**d) for d in result["devices"]], sheets[st.session_state[state.SHEET]].rows,
                     samples, data.accelerators(), spot=bool(st.session_state[state.SPOT]), g_co2_per_kwh=intensity)
table = frames.plan_frame(plans)
priced = [p for p in plans if p.usd is not None]
if priced:
    cheapest, fastest = priced[0], min(priced, key=lambda p: p.hours)
    cards = st.container(horizontal=True)
    for title, plan in (("Cheapest", cheapest), ("Fastest", fastest)):
        card = cards.container(border=True, width=360)
        card.metric(f"{title}: {plain(plan.option)}", f"${plan.usd:,.0f} · {widgets.duration(plan.hours)}")
        card.caption(plain(f"{plan.accelerator_count}× {plan.accelerator}, speed {plan.speed_kind}"
                           + (f" — {plan.caveat}" if plan.caveat else "")))
else:
    st.info("No instance of this sheet can run it: the reasons are in the table.")
st.dataframe(table, hide_index=True, column_config={
    "option": "instance", "devices_needed": st.column_config.NumberColumn("devices it needs", format="%d"),
    "usd_per_h": st.column_config.NumberColumn("$/h", format="%.2f"),
    "hours": st.column_config.NumberColumn("wall time (h)", format="%.3g"),
    "usd": st.column_config.NumberColumn("cost ($)", format="%,.0f"),
    "kwh": st.column_config.NumberColumn("energy (kWh, estimated)", format="%.3g"),
    "co2_kg": st.column_config.NumberColumn("kg CO2e (estimated)", format="%.3g"),
    "speed_kind": "speed is", "note": "reason or caveat"})
per_sample = f" of {tokens_per_sample} tokens" if tokens else ""
st.caption(f"{samples:,.0f} samples{per_sample}; every "
           "accelerator of an instance trains (ZeRO-3/FSDP when the model needs several), communication not modelled, so "
           "wall time is a lower bound. Energy: TDP × time (estimated; blank without a TDP). CO2: × "
           f"{intensity:g} g/kWh ({intensity_label}).")
