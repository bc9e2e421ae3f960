# Writes OUT (a .cc) defining `const char NAME[]` with the contents of IN.
file(READ "${IN}" text)
file(WRITE "${OUT}" "// Generated from ${IN}. Do not edit.\nnamespace chakong::sim {\n"
     "extern const char ${NAME}[];\nconst char ${NAME}[] = R\"chakong_embed(${text})chakong_embed\";\n}\n")
