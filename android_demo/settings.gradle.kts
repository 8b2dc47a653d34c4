// Android Studio project for the keras-depth AR occlusion demo.
// :depth-core is pure Kotlin/JVM (all model-facing logic, unit-tested without Android);
// :app is the thin CameraX + LiteRT layer on top of it.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "keras-depth-android"
include(":app", ":depth-core")
