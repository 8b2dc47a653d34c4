// Pure Kotlin/JVM: no android.* imports, so it builds and tests on any JVM.
// Outside Android Studio (no Gradle / Google Maven), ./build_and_test.sh compiles and tests it with bare kotlinc.
plugins {
    id("org.jetbrains.kotlin.jvm")
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    testImplementation("junit:junit:4.13.2")
}
