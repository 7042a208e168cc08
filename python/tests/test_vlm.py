"""MRPOGRPOTrainer on a tiny random Qwen2.5-VL (Qwen2_5_VLForConditionalGeneration) with its real processor
(Qwen2_5_VLProcessor + Qwen2VL image processor, built locally), image prompts and a real `mrpo serve`."""
import math

import numpy as np
import torch
import transformers.processing_utils
from datasets import Dataset
from PIL import Image
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
from transformers.video_processing_utils import BaseVideoProcessor
from trl import GRPOConfig

from test_trainer import CORPUS, record_rewards, STORY, Recorder, allowed_only, check, length_reward, step_labels

VISION_TOKENS = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
# The content-part loop of Qwen2.5-VL's own template, shortened: an image part becomes
# <|vision_start|><|image_pad|><|vision_end|>, which the processor expands to one pad per merged patch.
VL_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for p in m['content'] %}"
    "{% if p['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif p['type'] == 'text' %}{{ p['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
SIDE = 56  # one 56x56 image = 4x4 patches of 14 px = 4 image tokens after the 2x2 merge


def tiny_processor(monkeypatch):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>",
                                                                  *VISION_TOKENS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   bos_token=None)
    fast.add_tokens(STORY)
    image_processor = Qwen2VLImageProcessorPil(min_pixels=SIDE * SIDE, max_pixels=SIDE * SIDE)
    # No videos here, and Qwen2VLVideoProcessor needs torchvision (no build for this CPU torch on the index), so
    # the processor gets the base video processor. Without torchvision, `transformers.BaseVideoProcessor` is a
    # placeholder object and the processor's type check (which looks the class up by that name) would refuse the
    # real one: point the name at the real class for this test only.
    monkeypatch.setattr(transformers.processing_utils.transformers_module, "BaseVideoProcessor", BaseVideoProcessor)
    return Qwen2_5_VLProcessor(image_processor=image_processor, tokenizer=fast, video_processor=BaseVideoProcessor(),
                               chat_template=VL_TEMPLATE)


def tiny_vl_model(tokenizer):
    torch.manual_seed(0)
    ids = tokenizer.convert_tokens_to_ids
    config = Qwen2_5_VLConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         rope_parameters={"rope_type": "default", "mrope_section": [1, 1, 2], "rope_theta": 10000.0},
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         tie_word_embeddings=True),
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2, out_hidden_size=32, window_size=28,
                           fullatt_block_indexes=[1]),
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None,
        tie_word_embeddings=True)
    return Qwen2_5_VLForConditionalGeneration(config)


def picture(seed):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8))


class VLRecorder(Recorder):
    """Also records, per loss call, the batch's pixel_values and what the vision tower was called with."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.tower_inputs, self.loss_pixels = [], []
        self.model.model.visual.register_forward_hook(
            lambda module, args, kwargs, out: self.tower_inputs.append(
                (kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]).detach().clone()), with_kwargs=True)

    def _compute_loss(self, model, inputs):
        calls = len(self.tower_inputs)
        loss = super()._compute_loss(model, inputs)
        self.loss_pixels.append((inputs["pixel_values"].clone(), self.tower_inputs[calls:]))
        return loss


def test_vlm_images_reach_the_model_and_advantages_are_mrpo(tmp_path, mrpo_serve, monkeypatch):
    processor = tiny_processor(monkeypatch)
    tokenizer = processor.tokenizer
    model = tiny_vl_model(tokenizer)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    images = [picture(1), picture(2)]
    data = Dataset.from_list([{"prompt": [{"role": "user", "content": CORPUS[2]}], "image": images[i % 2]}
                              for i in range(8)])
    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=8, num_generations=4, max_steps=2,
                      max_completion_length=24, learning_rate=1e-2, logging_steps=1, report_to=[], use_cpu=True,
                      save_strategy="no", seed=0, bf16=False, loss_type="grpo",
                      generation_kwargs={"suppress_tokens": allowed_only(tokenizer)})
    trainer = VLRecorder(model=model, reward_funcs=[length_reward], args=args, train_dataset=data,
                         processing_class=processor, mrpo_url=mrpo_serve, step_labels=step_labels)
    rewards_seen = record_rewards(trainer)
    trainer.train()

    assert trainer.state.global_step == 2
    check(trainer, tokenizer, mrpo_serve, rewards_seen)  # per-token advantages in TRL's loss == mrpo's
    assert any(not torch.equal(before[n], p.detach()) for n, p in trainer.model.named_parameters()), "no update"
    assert len(trainer.losses) == 2 and all(math.isfinite(l) for l in trainer.losses)

    # The images reached the model in the loss: in every loss call the vision tower ran on that batch's
    # pixel_values, and those are, image by image, the image processor's patches of the dataset's pictures.
    expected = [torch.as_tensor(processor.image_processor(images=[im], return_tensors="pt")["pixel_values"])
                for im in images]
    per_image = expected[0].shape[0]
    assert per_image == (SIDE // 14) ** 2 and not torch.allclose(expected[0], expected[1])  # 4x4 patches of 14 px
    assert len(trainer.loss_pixels) == 2
    for pixels, tower_calls in trainer.loss_pixels:
        assert pixels.shape[0] == 8 * per_image  # 8 rows, one image each
        assert len(tower_calls) == 1 and torch.equal(tower_calls[0], pixels.to(tower_calls[0].dtype))
        for block in pixels.split(per_image):
            assert any(torch.allclose(block, e, atol=1e-6) for e in expected)

    # And the image matters: the same prompt and completion with the other picture gives other log-probs.
    prompt = processor.apply_chat_template([{"role": "user", "content": [{"type": "image"},
                                            {"type": "text", "text": CORPUS[2]}]}], add_generation_prompt=True)
    text = prompt + "<think> The lung is clear.</think><answer>pneumothorax</answer>"
    with torch.no_grad():
        logps = [torch.log_softmax(trainer.model(**processor(text=[text], images=[im], return_tensors="pt")).logits, -1)
                 for im in images]
    assert (logps[0] - logps[1]).abs().max().item() > 1e-4
