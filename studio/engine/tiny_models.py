"""Tiny random-weight Wan pipelines, built offline with the real diffusers/transformers classes.

They mirror the three real layouts (two experts, TI2V-5B's Wan2.2 VAE, the single 1.3B transformer) at a few
hundred kB, so tests and the CPU preview mode run the real code paths. Output is smooth coloured noise.
torch, diffusers and transformers are imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.domain.preset_types import LAYOUTS, WAN_NEGATIVE_PROMPT, LayoutName, Preset
from studio.domain.presets import PRESETS

if TYPE_CHECKING:
    from diffusers.pipelines.wan.pipeline_wan import WanPipeline
    from diffusers.pipelines.wan.pipeline_wan_i2v import WanImageToVideoPipeline

logger = logging.getLogger(__name__)

TEXT_DIM = 32  # UMT5 d_model == the transformer's text_dim

# Whole-word pieces so English prompts take few tokens; any other latin word is spelled letter by letter.
_WORDS = (
    "a an the and or of in on at to with from by for under over into through near above below behind while "
    "is are was be it its this that there his her their he she they we you i "
    "cat cats dog dogs bird birds fish horse person people man woman child girl boy car cars train boat ship "
    "city street road forest tree trees flower flowers mountain mountains river lake sea ocean beach sky cloud "
    "clouds sun moon star stars night day morning evening light rain snow water fire wind house room kitchen "
    "window door table garden park field desert island bridge tower castle space planet "
    "walking running flying swimming dancing jumping sitting standing playing eating looking smiling cooking "
    "walks runs flies swims dances jumps sits stands plays eats looks smiles moves turns falls "
    "red orange yellow green blue purple pink white black gray grey golden silver dark bright warm cold soft "
    "big small tall short long old young new beautiful cute happy sad slow fast quiet calm "
    "camera shot close up wide view slow motion cinematic realistic detailed style video scene background "
    "low high quality best worst blurry static still lighting sunset sunrise"
)

# Common Chinese characters, so Chinese prompts tokenize to characters rather than <unk> (no byte fallback).
_HANZI = (
    "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过"
    "家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从已现动两长知想开"
    "意本手水高果头老向很月之正外新最样回明话问点重位更力体再机理只间给实她气物东西南北红黄蓝绿白黑色光影山河湖"
    "海风雨雪云雾花草树林木森石土火金城市街道路桥楼房屋门窗室内外车船飞鸟猫狗马牛羊鱼虫龙熊虎狮兔猴鸡鸭"
    "男女孩儿童老少朋友父母哥姐弟妹爱笑哭跑走跳飞游唱舞坐站看听吃喝睡玩拿抱穿戴画写读书字声音乐歌"
    "春夏秋冬早晚夜晨阳星空蓝天地面边角前后左右远近深浅快慢美丽漂亮可爱安静热闹温暖寒冷明亮阴暗"
    "镜头特写全景慢动作电影画质高清真实细节背景前景人物场景风格视频照片相机拍摄移镜推拉摇跟随环绕俯仰"
    "穿着戴着拿着坐在站在走在一个一只一位一条一片一座一群在着的了和与及"
    "步散夕落晴朗微奔翔泳闪烁映照飘旋转缓轻柔壮观宁神秘梦幻古代未科城堡宫殿寺庙村庄田野原沙漠冰川瀑布溪流岛屿港"
    "码灯塔广场园巷咖啡厅餐厨卧客教办商店医院校图馆博剧演唱会比赛运足球篮网骑摩托火轮帆潜艇箭卫宇宙银彩虹闪电雷"
    "暴晴霾灰尘烟焰冰滴波浪涟漪倒芒晕逆侧顶硬霓虹笼蜡烛篝烟"
    "使部度电化性应它合因由些政四社义形相全表间关各新线数正反原或但质第命变条结解意建系很情者最立代已通并提直题程"
    "展五果料象员革位入常文总次品式活设管特件长求基资流级少统接较将组计别期根论农指几九区强放决被干做必战先则任取"
    "据处队给即保治造百规热领七导器压志世增争济阶油思术极交受联什认六共权收证改清己再采更单切打教速带安身例务具万"
    "每目至达积示议报斗完类八华名确才张信节米整元况今集温传许群石记需段研界拉律叫且究越织装算低持众布复容须际非验"
    "连断难矿千周委素技备半青省列习响约支般史感劳便团往酸历克何除消构府称太准精值号率族维划选标存候毛亲效斯查江型"
    "眼王按格养易置派层始却专状育厂京识适属圆包住调满县局参细引该铁价严"
)

# Full-width and CJK punctuation Wan's own negative prompt and Chinese prompts use.
_CJK_PUNCT = "，。、！？：；“”‘’（）《》【】…—～"


def tiny_vocab() -> list[tuple[str, float]]:
    """The tokenizer's Unigram vocabulary: specials (ids 0/1/2), words, then single characters."""
    pieces: dict[str, float] = {"<pad>": 0.0, "</s>": 0.0, "<unk>": 0.0, "▁": -3.0}
    for word in _WORDS.split():
        pieces.setdefault(f"▁{word}", -4.0)
    for char in (chr(c) for c in range(33, 127)):
        # A latin character can start a word (after the "▁" the pre-tokenizer adds) or continue one.
        pieces.setdefault(f"▁{char}", -9.0)
        pieces.setdefault(char, -10.0)
    for char in [*_HANZI, *_CJK_PUNCT, *WAN_NEGATIVE_PROMPT]:
        pieces.setdefault(char, -10.0)  # Chinese has no spaces: "▁" + one piece per character
    return list(pieces.items())


def build_tiny_pipeline(layout: LayoutName, seed: int = 0) -> WanPipeline | WanImageToVideoPipeline:
    """A random-weight Wan pipeline shaped like the real `layout`; the same seed gives the same weights.

    Image-to-video layouts (I2V-A14B) are a WanImageToVideoPipeline whose transformers read 36 channels (the noisy
    latents, a 4-channel frame mask and the encoded images), without a CLIP image encoder, like Wan2.2's.
    """
    import torch

    # From their modules: mypy resolves `from diffusers import ...` to diffusers' dummy placeholder classes.
    from diffusers.models.autoencoders.autoencoder_kl_wan import AutoencoderKLWan
    from diffusers.models.transformers.transformer_wan import WanTransformer3DModel
    from diffusers.pipelines.wan.pipeline_wan import WanPipeline
    from diffusers.pipelines.wan.pipeline_wan_i2v import WanImageToVideoPipeline
    from diffusers.schedulers.scheduling_unipc_multistep import UniPCMultistepScheduler
    from transformers import T5Tokenizer, UMT5Config, UMT5EncoderModel

    info = LAYOUTS[layout]
    wan22_vae = info.vae_spatial == 16

    # 1. Tokenizer: built in memory from a small vocabulary (no files, no hub)
    tokenizer = T5Tokenizer(vocab=tiny_vocab(), extra_ids=0)

    # 2. Text encoder: a 2-layer UMT5 whose width is the transformer's text_dim
    torch.manual_seed(seed)
    text_config = UMT5Config(
        vocab_size=_round_up(len(tokenizer), 64),
        d_model=TEXT_DIM,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=32,
    )
    text_encoder = UMT5EncoderModel(text_config).eval()

    # 3. VAE: Wan2.1 (16 latent channels, ×8) or Wan2.2 (48 channels over 2×2 patches, ×16)
    torch.manual_seed(seed)
    vae_kwargs: dict[str, Any] = {
        "base_dim": 3,
        "dim_mult": [1, 1, 1, 1],
        "num_res_blocks": 1,
        "temperal_downsample": [False, True, True],
        "scale_factor_temporal": info.vae_temporal,
        "scale_factor_spatial": info.vae_spatial,
    }
    if wan22_vae:
        z_dim = 48
        vae_kwargs |= {"in_channels": 12, "out_channels": 12, "patch_size": 2, "is_residual": True}
    else:
        z_dim = 16
    vae = AutoencoderKLWan(z_dim=z_dim, latents_mean=[0.0] * z_dim, latents_std=[1.0] * z_dim, **vae_kwargs).eval()

    # 4. Transformer(s): 2 layers of 2 heads × 16 (width 32: every block linear is a multiple of 16, as FP8 matrix
    #    products need, so the tiny model runs the FP8 path too); the second expert gets its own weights
    def transformer(expert_seed: int) -> WanTransformer3DModel:
        torch.manual_seed(expert_seed)
        return WanTransformer3DModel(
            patch_size=(1, 2, 2),
            num_attention_heads=2,
            attention_head_dim=16,
            in_channels=2 * z_dim + info.vae_temporal if info.image_channels else z_dim,
            out_channels=z_dim,
            text_dim=TEXT_DIM,
            freq_dim=256,
            ffn_dim=32,
            num_layers=2,
            cross_attn_norm=True,
            qk_norm="rms_norm_across_heads",
        ).eval()

    # 5. Scheduler: UniPC flow matching, configured like the Wan-AI diffusers repos
    scheduler = UniPCMultistepScheduler(
        prediction_type="flow_prediction",
        use_flow_sigmas=True,
        num_train_timesteps=1000,
        flow_shift=_tiny_preset(layout).flow_shift,
    )

    pipeline_class: Any = WanImageToVideoPipeline if info.image_channels else WanPipeline
    return pipeline_class(  # type: ignore[no-any-return]
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        scheduler=scheduler,
        transformer=transformer(seed),
        transformer_2=transformer(seed + 1) if info.two_experts else None,
        boundary_ratio=info.boundary_ratio,
        expand_timesteps=info.expand_timesteps,
    )


def ensure_tiny_model(preset: Preset, models_dir: Path) -> Path:
    """The saved tiny model for `preset` under `models_dir`, built and saved on first use.

    The folder appears complete or not at all: it is saved to a temp sibling and renamed into place. When two
    processes race, the loser deletes its copy and uses the winner's.
    """
    target = Path(models_dir) / preset.key
    if (target / "model_index.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    pipe = build_tiny_pipeline(preset.layout)
    temp = target.with_name(f".{preset.key}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        pipe.save_pretrained(temp, safe_serialization=True)
        _move_into_place(temp, target)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    logger.info("tiny model %s ready at %s (%.1f s)", preset.key, target, time.perf_counter() - start)
    return target


def _move_into_place(temp: Path, target: Path) -> None:
    """Rename `temp` to `target`, unless another process got there first."""
    try:
        os.rename(temp, target)  # atomic; replaces only a missing or empty folder
        return
    except OSError:
        if (target / "model_index.json").is_file():
            logger.info("another process saved %s first; using its copy", target)
            return
        if not target.is_dir():
            raise
    # `target` is a leftover without a pipeline in it: set it aside, then retry once.
    stale = target.with_name(f".{target.name}.stale-{uuid.uuid4().hex[:8]}")
    os.rename(target, stale)
    try:
        os.rename(temp, target)
    except OSError:
        if not (target / "model_index.json").is_file():
            raise
    finally:
        shutil.rmtree(stale, ignore_errors=True)


def _tiny_preset(layout: LayoutName) -> Preset:
    return next(p for p in PRESETS.values() if p.tiny and p.layout == layout)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple
