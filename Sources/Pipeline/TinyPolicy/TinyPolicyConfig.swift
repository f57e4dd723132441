import Config
import Models
import Sim

extension ModelConfig {
  /// The tiny VLA configuration these model keys describe: the policy an SFT warm start or an RL
  /// run without a checkpoint builds (the embedded simulator's state size for the state token).
  func tinyVLAConfig(textVocabulary: Int) -> VLAConfig {
    VLAConfig.tiny(
      head: modelType == .openvlaOFT ? .oft : .openvla, numActionChunks: numActionChunks,
      textVocabulary: textVocabulary, proprioDim: useProprio ? TabletopEnv.stateSize : 0,
      whiteBalance: whiteBalance, patchPool: patchPool, film: useFilm)
  }
}
